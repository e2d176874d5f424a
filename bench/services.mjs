// Benchmark: service containers (issue 4). S1, the seed scenario — start an httpd service, wait until healthy, run a
// busybox client that fetches its page through the alias `www`, read the output, stop and remove the service — and
// S3, 10 services started concurrently to all-healthy; svcd vs the peers' scripts in ../shared/bench-peers (raw ctr
// + CNI by hand, rootful podman), in the same run: svcd iterations and peer blocks alternate (see README.md).
// Uses $CONTAINERD_ADDRESS (default the system socket) for svcd, namespace bench-svc-<pid>, removed at the end.
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
const scenarios = new Set((process.env.SCENARIOS ?? "s1,s3").split(","));
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
  await privateSvcdDirs(cleanups);
  const registry = await registryWith(cleanups, ["busybox"]);
  const namespace = `bench-svc-${tag}`;
  // Root: $CONTAINERD_ADDRESS or the system socket; a user: the user's own rootless containerd (connect() picks it).
  const { address, option } = await svcdContainerd(containerdAddress());
  cleanups.push(namespace, () => new Ctr(address, namespace).destroyNamespace());
  const client = await connect({ ...option, namespace, registryMirrors: { "docker.io": registry.url }, serviceGracePeriodMs: 0 });
  cleanups.push("svcd client", () => client.close());

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
  // S3, svcd: K distinct definitions started with Promise.all until all healthy; teardown timed apart.
  const s3Services = Array.from({ length: K }, (_, k) => httpd(k + 1));
  const s3 = async (phases) => {
    const all = await time(() => Promise.all(s3Services.map((s) => s.start())));
    const down = await time(() => Promise.all(s3Services.map((s) => s.stop({ kill: true }))));
    phases.all_ready.push(all);
    phases.teardown.push(down);
  };

  const svcdRunners = {
    s1: [
      { name: "svcd start→client→stop(kill)", run: s1Explicit, phases: ["start_healthy", "client", "teardown"], total: (p) => p.start_healthy.map((x, i) => x + p.client[i] + p.teardown[i]) },
      { name: "svcd JIT binding, grace 0", run: s1Jit, phases: ["client_returned", "teardown"], total: (p) => p.client_returned.map((x, i) => x + p.teardown[i]) },
    ],
    s3: [{ name: "svcd 10× start()", run: s3, phases: ["all_ready", "teardown"], total: (p) => p.all_ready }],
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
    const goals = scenario === "s1" ? { ctr: 0.8, podman: 0.5 } : {};
    const ratios = ours.flatMap((r) => theirs.map((p) => [r.name, p.name, r === ours[0] ? goals[p.peer] : undefined]));
    const title = scenario === "s1"
      ? `S1: service start → healthy → client output → service stopped and removed (N=${n}, peer blocks of ${blockSize})`
      : `S3: ${K} services started concurrently → all healthy (N=${n}, peer blocks of ${blockSize})`;
    out.push(report(title, samples, ratios));
    const phaseNames = [...new Set(Object.values(phases).flatMap((p) => Object.keys(p)))];
    out.push(phaseTable(`${scenario.toUpperCase()} medians per phase (ms)`, phaseNames, phases));
    if (spawns) for (const r of ours) out.push(spawnTable(r.name));
  }
  console.log(out.join("\n\n"));
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
