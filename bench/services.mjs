// Benchmark: service containers (issue 4). S1, the seed scenario — start an httpd service, wait until healthy, run a
// busybox client that fetches its page through the alias `www`, read the output, stop and remove the service — and
// S3, 10 services started concurrently to all-healthy; svcd vs the peers' scripts in ../shared/bench-peers (raw ctr
// + CNI by hand, rootful podman), in the same run: svcd iterations and peer blocks alternate (see README.md).
// "scale" (issue 13): K distinct services (K = 10, 20, 30, 50) started with Promise.all to all-healthy, then stopped,
// and the engine's RSS (this process: the engine is embedded; containerd and the shims are not counted) idle and
// per running service.
// Uses $CONTAINERD_ADDRESS, else the system socket if it exists, else lets connect() choose (svcd's managed
// containerd in the run's private dirs); namespace bench-svc-<pid>, removed at the end.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Ctr, containerdAddress } from "./lib/ctr.mjs";
import { rootless, svcdContainerd } from "./lib/engine.mjs";
import { PEER_CONTAINERD, Peers } from "./lib/peers.mjs";
import { Cleanups, privateSvcdDirs, registryWith } from "./lib/session.mjs";
import { iterations, machineLine, median, report, time } from "./lib/stats.mjs";
import { traceSpawns } from "./lib/spawn-trace.mjs";
import { load } from "./lib/svcd.mjs";

const { connect } = await load("index.js");

const n = iterations();
/** Peer iterations per block (each block adds one uncounted warm-up of the peer script). */
const blockSize = Math.max(1, Math.min(n, Number(process.env.BLOCK ?? 5)));
const scenarios = new Set((process.env.SCENARIOS ?? "s1,s3,scale").split(","));
/** scale: the service counts, and rounds per count (each round runs every count once, the order alternating). */
const scaleKs = (process.env.SCALE_KS ?? "10,20,30,50").split(",").map(Number);
const scaleN = Number(process.env.SCALE_N ?? 3);
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc");
/** RSS and heap in use of this process after a full GC, in MiB. */
const memory = async () => {
  for (let i = 0; i < 2; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  const m = process.memoryUsage();
  return { rss: m.rss / 2 ** 20, heap: m.heapUsed / 2 ** 20 };
};
const peerNames = new Set((process.env.PEERS ?? "ctr,podman").split(",").filter(Boolean));
const K = 10;
const BODY = "Hello, world!";
const tag = `${process.pid}`;
const cleanups = new Cleanups();
const log = (s) => process.stderr.write(s + "\n");
/** BENCH_SPAWNS=1: record svcd's helper processes per iteration (adds a table; the timings include the tracing). */
const spawns = process.env.BENCH_SPAWNS === "1" ? traceSpawns() : undefined;
/** runner → command → per-iteration { n, ms } lists. */
const spawnStats = {};
let seq = 0;
const unique = () => `${tag}-${++seq}-${Math.random().toString(36).slice(2, 8)}`;

/** Splits n iterations into blocks of at most blockSize. */
function blocks(total) {
  const out = [];
  for (let left = total; left > 0; left -= blockSize) out.push(Math.min(blockSize, left));
  return out;
}

/** Adds one iteration's helper processes to spawnStats (count and summed wall time per command, and in all). */
function recordSpawns(runner, records) {
  const byCmd = (spawnStats[runner] ??= {});
  const groups = { "(all)": records };
  for (const r of records) (groups[r.name] ??= []).push(r);
  for (const [cmd, list] of Object.entries(groups)) {
    const s = (byCmd[cmd] ??= { n: [], ms: [] });
    s.n.push(list.length);
    s.ms.push(list.reduce((a, r) => a + r.ms, 0));
  }
}

/** Medians per iteration of helper processes svcd spawned, by command. */
function spawnTable(runner) {
  const rows = Object.entries(spawnStats[runner] ?? {}).sort((a, b) => median(b[1].ms) - median(a[1].ms));
  const lines = [`#### helper processes per iteration: ${runner} (medians; wall time spawn → exit, overlapping ones counted each)`, "", "| command | count | ms |", "| --- | ---: | ---: |"];
  for (const [cmd, s] of rows) lines.push(`| ${cmd} | ${median(s.n)} | ${median(s.ms).toFixed(0)} |`);
  return lines.join("\n");
}

/** Medians per phase column, as one markdown table (rows: phases, columns: runners). */
function phaseTable(title, phases, byRunner) {
  const names = Object.keys(byRunner);
  const lines = [`#### ${title}`, "", `| phase | ${names.join(" | ")} |`, `| --- |${names.map(() => " ---: |").join("")}`];
  for (const p of phases) {
    lines.push(`| ${p} | ${names.map((r) => (byRunner[r][p]?.length ? median(byRunner[r][p]).toFixed(0) : "–")).join(" | ")} |`);
  }
  return lines.join("\n");
}

try {
  // Peers first: their containerd then runs before svcd connects (CONTAINERD_ADDRESS may point svcd at it too).
  const peers = new Peers({ log });
  if (peerNames.size) {
    cleanups.push("peers", () => peers.teardown());
    await peers.setup();
  }
  const dirs = await privateSvcdDirs(cleanups);
  const registry = await registryWith(cleanups, ["busybox"]);
  const namespace = `bench-svc-${tag}`;
  // Root: $CONTAINERD_ADDRESS or the system socket; a user: the user's own rootless containerd (connect() picks it).
  const fallback = containerdAddress();
  const { address, option } = await svcdContainerd(process.env.CONTAINERD_ADDRESS || existsSync(fallback) ? fallback : undefined);
  cleanups.push(namespace, () => new Ctr(address, namespace).destroyNamespace());
  const client = await connect({ ...option, namespace, registryMirrors: { "docker.io": registry.url }, serviceGracePeriodMs: 0 });
  cleanups.push("svcd client", () => client.close());
  const connectOptions = { ...option, namespace, registryMirrors: { "docker.io": registry.url } };
  const idle = await memory();
  /** Idle RSS of a fresh engine process: on dist/ when built (what users run), and on src/ through tsx. */
  const idleFresh = async (dist) => {
    const env = { ...process.env, BENCH_DIST: dist ? "1" : "0" };
    const script = new URL("./lib/idle-rss.mjs", import.meta.url).pathname;
    const { stdout } = await promisify(execFile)(process.execPath, ["--expose-gc", script, JSON.stringify(connectOptions)], { env });
    return JSON.parse(stdout.trim().split("\n").pop());
  };
  /**
   * Waits until the namespace holds no service container and no container netns is left (stop() leaves removal,
   * network detach included, to the background).
   */
  const netnsDir = dirs.runtime ? join(dirs.runtime, "netns") : undefined;
  const settled = async () => {
    for (let i = 0; i < 600; i++) {
      const left = (await new Ctr(address, namespace).lines("containers", "ls", "-q")).filter((id) => id.includes("-svc-"));
      const nets = netnsDir ? (await readdir(netnsDir).catch(() => [])).filter((n) => n.startsWith("ctr-")) : [];
      if (left.length === 0 && nets.length === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  /** The seed's service: busybox httpd serving BODY on 8080; `k` makes distinct definitions for S3. */
  const httpd = (k) => {
    let c = client.container().from("busybox").withNewFile("/www/index.html", BODY);
    if (k !== undefined) c = c.withEnvVariable("K", String(k));
    return c.withExposedPort(8080).withEntrypoint(["httpd", "-f", "-p", "8080", "-h", "/www"]).asService();
  };
  const fetchWww = (svc) =>
    client.container().from("busybox").withEnvVariable("N", unique()).withServiceBinding("www", svc).withExec(["wget", "-q", "-O-", "http://www:8080/"]).stdout();
  const expectBody = (out) => {
    if (out !== BODY) throw new Error(`unexpected body: ${JSON.stringify(out)}`);
  };
  const svc = httpd();

  // S1, svcd: explicit start() → client → stop({ kill: true }); each phase timed.
  const s1Explicit = async (phases) => {
    const t = [performance.now()];
    await svc.start();
    t.push(performance.now());
    expectBody(await fetchWww(svc));
    t.push(performance.now());
    await svc.stop({ kill: true });
    t.push(performance.now());
    phases.start_healthy.push(t[1] - t[0]);
    phases.client.push(t[2] - t[1]);
    phases.teardown.push(t[3] - t[2]);
  };
  // S1, svcd: just-in-time — the binding starts the service, grace 0 stops it (SIGTERM) once the client is done.
  // Timed until stdout() returns (what the caller waits for) and until the service is gone (stop() joins the stop
  // already under way, or finds nothing left).
  const s1Jit = async (phases) => {
    const t0 = performance.now();
    expectBody(await fetchWww(svc));
    const t1 = performance.now();
    await svc.stop();
    const t2 = performance.now();
    phases.client_returned.push(t1 - t0);
    phases.teardown.push(t2 - t1);
  };
  // S1, svcd: the JIT run, timed until its removal is complete (like the peers' synchronous rm): stop() resolves
  // once the process has exited and the rest (task, container, snapshot, netns, IP lease) goes on in the background;
  // its last step for each container is removing the netns file, so the run ends when no netns of a container is
  // left (polled in-process every 2 ms), and the containerd side is checked empty afterwards (not timed).
  const s1JitRemoved = async (phases) => {
    await s1Jit(phases);
    phases.removal.push(await time(() => netnsGone()));
    await settled();
  };
  const netnsGone = async () => {
    if (!netnsDir) throw new Error("the removal-complete runner needs the engine's private runtime dir");
    for (;;) {
      const nets = (await readdir(netnsDir).catch(() => [])).filter((f) => f.startsWith("ctr-"));
      if (nets.length === 0) return;
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  // S3, svcd: K distinct definitions started with Promise.all until all healthy; teardown timed apart.
  const s3Services = Array.from({ length: K }, (_, k) => httpd(k + 1));
  const s3 = async (phases) => {
    const all = await time(() => Promise.all(s3Services.map((s) => s.start())));
    const down = await time(() => Promise.all(s3Services.map((s) => s.stop({ kill: true }))));
    const removal = await time(() => netnsGone());
    phases.all_ready.push(all);
    phases.teardown.push(down);
    phases.removal.push(removal);
  };

  const svcdRunners = {
    s1: [
      { name: "svcd start→client→stop(kill)", run: s1Explicit, phases: ["start_healthy", "client", "teardown"], total: (p) => p.start_healthy.map((x, i) => x + p.client[i] + p.teardown[i]) },
      { name: "svcd JIT binding, grace 0", run: s1Jit, phases: ["client_returned", "teardown"], total: (p) => p.client_returned.map((x, i) => x + p.teardown[i]) },
      { name: "svcd JIT binding, removal complete", run: s1JitRemoved, phases: ["client_returned", "teardown", "removal"], total: (p) => p.client_returned.map((x, i) => x + p.teardown[i] + p.removal[i]) },
    ],
    s3: [{ name: "svcd 10× start()", run: s3, phases: ["all_ready", "teardown", "removal"], total: (p) => p.all_ready }],
  };
  const peerRunners = {
    s1: [
      { name: "ctr+CNI (s1-ctr.sh)", peer: "ctr", script: "s1-ctr.sh", args: [], csv: "s1-ctr.csv", total: "total_ms" },
      { name: "podman (s1-podman.sh)", peer: "podman", script: "s1-podman.sh", args: [], csv: "s1-podman.csv", total: "total_ms" },
    ],
    s3: [
      { name: "ctr+CNI (s3.sh ctr)", peer: "ctr", script: "s3.sh", args: ["ctr"], csv: "s3-ctr.csv", total: "all_ready_ms" },
      { name: "podman (s3.sh podman)", peer: "podman", script: "s3.sh", args: ["podman"], csv: "s3-podman.csv", total: "all_ready_ms" },
    ],
  };

  const out = [];
  if (scenarios.has("scale")) out.push(await scale());
  for (const scenario of ["s1", "s3"]) {
    if (!scenarios.has(scenario)) continue;
    const ours = svcdRunners[scenario];
    const theirs = peerRunners[scenario].filter((p) => peerNames.has(p.peer)).map((p) => ({ ...p, rows: [] }));
    const phases = Object.fromEntries([...ours, ...theirs].map((r) => [r.name, {}]));
    for (const r of ours) for (const p of r.phases) phases[r.name][p] = [];

    for (const r of ours) {
      const ms = await time(() => r.run(Object.fromEntries(r.phases.map((p) => [p, []]))));
      log(`warm-up ${r.name}: ${ms.toFixed(0)} ms`);
    }
    // Rounds: a block of svcd iterations (its runners alternating), then one block per peer script; the order of
    // the units reverses every other round so drifting load hits every side.
    let done = 0;
    for (const [round, size] of blocks(n).entries()) {
      const units = [
        async () => {
          for (let i = 0; i < size; i++) {
            const order = (done + i) % 2 === 0 ? ours : [...ours].reverse();
            for (const r of order) {
              const before = phases[r.name][r.phases[0]].length;
              // Like the peers' iterations, which start after their synchronous removal: not on the background
              // removal (task, snapshot, netns, lease) of the previous iteration. Not timed.
              await netnsGone();
              await settled();
              spawns?.take();
              await r.run(phases[r.name]);
              if (spawns) recordSpawns(r.name, spawns.take());
              const total = r.total(phases[r.name])[before];
              // The first line's form is what trace-rpcs.mjs reads.
              log(`#${done + i + 1} ${r.name}: ${total.toFixed(1)} ms`);
              log(`   phases: ${r.phases.map((p) => `${p} ${phases[r.name][p][before].toFixed(0)}`).join(", ")}`);
            }
          }
        },
        ...theirs.map((p) => async () => {
          const rows = await peers.block(p.script, p.args, size, p.csv);
          p.rows.push(...rows);
          for (const row of rows) {
            const cols = Object.entries(row).filter(([col]) => col !== "iter" && col !== "total_ms");
            // S1: the peers' first three phases are what svcd's start() covers.
            if ("svc_run_ms" in row) cols.unshift(["start_healthy", row.net_create_ms + row.svc_run_ms + row.ready_ms]);
            for (const [col, v] of cols) (phases[p.name][col.replace(/_ms$/, "")] ??= []).push(v);
          }
        }),
      ];
      for (const unit of round % 2 === 0 ? units : units.reverse()) await unit();
      done += size;
    }

    const samples = {};
    for (const r of ours) samples[r.name] = r.total(phases[r.name]);
    for (const p of theirs) samples[p.name] = p.rows.map((row) => row[p.total]);
    // The goals (issue 13) are S1's own two rows (s1Goals) and S3 vs ctr+CNI.
    const goals = scenario === "s3" ? { ctr: 0.7 } : {};
    const ratios = ours.flatMap((r) => theirs.map((p) => [r.name, p.name, goals[p.peer]]));
    const title = scenario === "s1"
      ? `S1: service start → healthy → client output → service stopped and removed (N=${n}, peer blocks of ${blockSize})`
      : `S3: ${K} services started concurrently → all healthy (N=${n}, peer blocks of ${blockSize})`;
    out.push(report(title, samples, ratios));
    if (scenario === "s1" && theirs.length) out.push(s1Goals(phases, theirs));
    const phaseNames = [...new Set(Object.values(phases).flatMap((p) => Object.keys(p)))];
    out.push(phaseTable(`${scenario.toUpperCase()} medians per phase (ms)`, phaseNames, phases));
    if (spawns) for (const r of ours) out.push(spawnTable(r.name));
  }
  console.log(out.join("\n\n"));

  /**
   * Issue 13's two S1 rows. Time to client output: the JIT runner's wait for stdout() (it starts the service) against
   * the peers' total less their teardown. Whole cycle: the JIT runner until removal is complete against the peers'
   * totals (their removal is synchronous).
   */
  function s1Goals(phases, theirs) {
    const jit = phases["svcd JIT binding, grace 0"];
    const removed = phases["svcd JIT binding, removal complete"];
    const output = { "svcd JIT binding: time to client output": jit.client_returned };
    const cycle = { "svcd JIT binding: whole cycle, removal complete": removed.client_returned.map((x, i) => x + removed.teardown[i] + removed.removal[i]) };
    const goals = { output: { ctr: 0.7, podman: 0.5 }, cycle: { ctr: 0.8, podman: 0.6 } };
    for (const p of theirs) {
      output[`${p.name}: time to output`] = p.rows.map((row) => row.total_ms - row.teardown_ms);
      cycle[`${p.name}: total`] = p.rows.map((row) => row.total_ms);
    }
    const pairs = (samples, key) => theirs.map((p) => [Object.keys(samples)[0], Object.keys(samples).find((k) => k.startsWith(p.name)), goals[key][p.peer]]);
    return [
      report("S1 goal: time to client output (JIT binding, cached definition, fresh service process)", output, pairs(output, "output")),
      report("S1 goal: whole cycle, removal complete", cycle, pairs(cycle, "cycle")),
    ].join("\n\n");
  }

  /**
   * Issue 13: K distinct definitions (other than S3's) started with Promise.all to all-healthy, then stopped; per
   * round every K once (order reversing each round). Memory: this process's RSS and heap after a full GC, idle
   * (right after connect) and with K services running, as a slope over the RSS just before that batch started.
   */
  async function scale() {
    const ks = [...scaleKs].sort((a, b) => a - b);
    const defs = new Map(ks.map((k) => [k, Array.from({ length: k }, (_, i) => httpd(`scale-${k}-${i}`))]));
    const res = Object.fromEntries(ks.map((k) => [k, { ready: [], down: [], rssPer: [], heapPer: [], rss: [] }]));
    const batch = async (k, record) => {
      const svcs = defs.get(k);
      const before = await memory();
      spawns?.take();
      const ready = await time(() => Promise.all(svcs.map((s) => s.start())));
      const started = spawns?.take();
      const during = await memory();
      const down = await time(() => Promise.all(svcs.map((s) => s.stop({ kill: true }))));
      await settled(); // the next batch must not compete with this one's background removal
      if (spawns) {
        const by = {};
        for (const r of started) ((by[r.name] ??= { n: 0, ms: 0 }).n++, (by[r.name].ms += r.ms));
        log(`scale K=${k} start helpers: ${Object.entries(by).sort((a, b) => b[1].ms - a[1].ms).map(([c, v]) => `${c} ${v.n}× ${v.ms.toFixed(0)} ms`).join(", ")}`);
      }
      log(`scale K=${k}: all healthy ${ready.toFixed(0)} ms, stopped ${down.toFixed(0)} ms, RSS ${before.rss.toFixed(1)} → ${during.rss.toFixed(1)} MiB, heap ${before.heap.toFixed(1)} → ${during.heap.toFixed(1)} MiB`);
      if (!record) return;
      const r = res[k];
      r.ready.push(ready);
      r.down.push(down);
      r.rss.push(during.rss);
      r.rssPer.push((during.rss - before.rss) / k);
      r.heapPer.push((during.heap - before.heap) / k);
    };
    await batch(ks[0], false); // warm-up: pulls, first chains, the hub
    for (let round = 0; round < scaleN; round++) for (const k of round % 2 ? [...ks].reverse() : ks) await batch(k, true);
    const fresh = [];
    const dist = existsSync(new URL("../dist/index.js", import.meta.url));
    for (let i = 0; i < 3; i++) fresh.push(await idleFresh(dist));
    const freshTsx = await idleFresh(false);
    const k0 = ks[0];
    const base = median(res[k0].ready);
    const lines = [
      `### Scale: K distinct services started concurrently → all healthy, then stopped (${scaleN} rounds per K)`,
      "",
      "| K | all healthy median ms | min | max | per service ms | × K=" + k0 + " | stop median ms | RSS with K running MiB | RSS per service MiB | heap per service MiB |",
      "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ];
    for (const k of ks) {
      const r = res[k];
      const m = median(r.ready);
      lines.push(`| ${k} | **${m.toFixed(0)}** | ${Math.min(...r.ready).toFixed(0)} | ${Math.max(...r.ready).toFixed(0)} | ${(m / k).toFixed(1)} | ${(m / base).toFixed(2)} | ${median(r.down).toFixed(0)} | ${median(r.rss).toFixed(1)} | ${median(r.rssPer).toFixed(2)} | ${median(r.heapPer).toFixed(2)} |`);
    }
    const kMax = ks[ks.length - 1];
    if (ks.includes(10) && ks.includes(50)) {
      const r = median(res[50].ready) / median(res[10].ready);
      lines.push("", `- ratio of medians 50 services / 10 services to all healthy = **${r.toFixed(2)}** (goal ≤ 5.5: ${r <= 5.5 ? "met" : "NOT met"})`);
    }
    const freshRss = median(fresh.map((f) => f.rss));
    lines.push(`- engine RSS idle after connect, a fresh node process on ${dist ? "dist/" : "src/ (tsx)"} (median of 3; containerd, shims, forward agent and slirp4netns not counted) = **${freshRss.toFixed(1)} MiB**, heap in use ${median(fresh.map((f) => f.heap)).toFixed(1)} MiB (goal ≤ 60 MB: ${freshRss * 1.048576 <= 60 ? "met" : "NOT met"})`);
    lines.push(`- the same on src/ through tsx: ${freshTsx.rss.toFixed(1)} MiB (heap ${freshTsx.heap.toFixed(1)}); this bench process (tsx, bench code) right after connect: ${idle.rss.toFixed(1)} MiB (heap ${idle.heap.toFixed(1)})`);
    for (const k of ks.filter((k) => k === 10 || k === kMax)) {
      const per = median(res[k].rssPer);
      lines.push(`- engine RSS per running service, K=${k} = **${per.toFixed(2)} MiB** (goal ≤ +2 MB: ${per * 1.048576 <= 2 ? "met" : "NOT met"})`);
    }
    return lines.join("\n");
  }
  // stop() resolves once a service has exited; its container and network are removed in the background (the
  // client's close() waits for that), so give the last teardowns a moment before calling anything a leak.
  let svcLeft = [];
  for (let i = 0; i < 100; i++) {
    svcLeft = (await new Ctr(address, namespace).lines("containers", "ls", "-q")).filter((id) => id.includes("-svc-"));
    if (svcLeft.length === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (svcLeft.length) throw new Error(`service containers left behind: ${svcLeft.join(", ")}`);
  console.log(`\n${await machineLine()}; svcd containerd: ${address}${rootless ? " (rootless)" : ""}; peers' containerd: ${PEER_CONTAINERD}`);
} finally {
  await cleanups.run();
}
