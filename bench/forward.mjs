// Benchmark: `up` (issue 5) and host services (issue 13). Throughput of a bulk transfer (both directions) and latency
// of small request/responses through svcd's `up` forwarder vs the same server directly on the host's loopback, in
// one run: the same server program (bench/lib/forward-server.py) runs on 127.0.0.1 and in a python service container
// exposed with `up({ random: true })`; the client is this process (node:net). Host services: one python client
// (bench/lib/forward-client.py) runs on the host against the host server directly, and in a python container
// against the same server through `host().service()`. Rounds alternate direct/forwarded (see README.md).
// Goals (issue 13): throughput ≥ 0.9× direct each way, `up` sequential round trip p50 ≤ 1.3× direct.
import { spawn } from "node:child_process";
import { setMaxListeners } from "node:events";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { Ctr } from "./lib/ctr.mjs";
import { rootless, svcdContainerd } from "./lib/engine.mjs";
import { Cleanups, registryWith } from "./lib/session.mjs";
import { iterations, machineLine, median } from "./lib/stats.mjs";
import { load } from "./lib/svcd.mjs";
import { download, echoConcurrent, echoRoundTrips, quantile, upload } from "./lib/tcp-load.mjs";

const { connect } = await load("index.js");

const n = iterations({ N: process.env.N ?? "5" });
/** Bytes per bulk transfer (default 1 GiB). */
const BYTES = Number(process.env.BYTES ?? 2 ** 30);
/** Round trips per latency run, message size, connections of the concurrent run. */
const MSGS = Number(process.env.MSGS ?? 10_000);
const MSG_BYTES = Number(process.env.MSG_BYTES ?? 64);
const CONNS = Number(process.env.CONNS ?? 16);
for (const [k, v] of Object.entries({ BYTES, MSGS, MSG_BYTES, CONNS })) {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${k} must be a positive integer, got ${v}`);
}
if (MSG_BYTES < 4) throw new RangeError("MSG_BYTES must be at least 4");
/** Deadline of one operation. */
const OP_TIMEOUT_MS = 300_000;
const cleanups = new Cleanups();
const log = (s) => process.stderr.write(s + "\n");
const serverSource = await readFile(new URL("./lib/forward-server.py", import.meta.url), "utf8");
const clientSource = await readFile(new URL("./lib/forward-client.py", import.meta.url), "utf8");
/** Bytes per host-service transfer (default: BYTES). */
const HS_BYTES = Number(process.env.HS_BYTES ?? BYTES);
if (!Number.isInteger(HS_BYTES) || HS_BYTES < 1) throw new RangeError(`HS_BYTES must be a positive integer, got ${HS_BYTES}`);

/**
 * Root: $CONTAINERD_ADDRESS, else the system containerd if its socket exists, else svcd's managed one (connect()'s
 * choice). A user: the user's own rootless containerd (connect() picks it). See lib/engine.mjs.
 */
function engineContainerd() {
  return svcdContainerd(existsSync("/run/containerd/containerd.sock") ? "/run/containerd/containerd.sock" : undefined);
}

/** Starts forward-server.py on the host's 127.0.0.1 (port chosen by the kernel); resolves its port. */
function startHostServer() {
  return new Promise((resolve, reject) => {
    const child = spawn("python3", ["-c", serverSource, "127.0.0.1", "0"], { stdio: ["ignore", "pipe", "inherit"] });
    cleanups.push("host server", () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        return exited;
      }
    });
    child.once("error", reject);
    child.once("exit", (code, sig) => reject(new Error(`host server exited (${code ?? sig}) before listening`)));
    createInterface({ input: child.stdout }).once("line", (line) => {
      const m = /^listening (\d+)$/.exec(line);
      if (m) resolve(Number(m[1]));
      else reject(new Error(`host server: unexpected line ${JSON.stringify(line)}`));
    });
  });
}

/** A deadline for one round; every connection of the concurrent run listens on it. */
function deadline() {
  const signal = AbortSignal.timeout(OP_TIMEOUT_MS);
  // net.connect keeps one listener per socket on the signal until the signal is dropped, so a round needs ~CONNS + 4.
  setMaxListeners(2 * CONNS + 16, signal);
  return signal;
}

const mbps = (ms) => BYTES / 2 ** 20 / (ms / 1000);

/** forward-client.py's two lines → { download, upload } MiB/s. */
function clientFigures(out) {
  const got = Object.fromEntries(out.trim().split("\n").map((l) => l.split(" ")).map(([k, v]) => [k, Number(v)]));
  if (!(got.download > 0 && got.upload > 0)) throw new Error(`forward-client.py: unexpected output ${JSON.stringify(out)}`);
  return got;
}

/** The python client on the host, straight to the host server. */
function hostClient(port) {
  return new Promise((resolve, reject) => {
    const child = spawn("python3", ["-c", clientSource, "127.0.0.1", String(port), String(HS_BYTES)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (b) => (out += b));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve(clientFigures(out)) : reject(new Error(`host client exited ${code}`))));
  });
}

/** One side's measurements for one round, appended to `acc`. */
async function round(port, acc) {
  const signal = deadline();
  acc.download.push(mbps(await download(port, BYTES, signal)));
  acc.upload.push(mbps(await upload(port, BYTES, signal)));
  const seq = await echoRoundTrips(port, MSGS, MSG_BYTES, signal);
  acc.seq.push(...seq);
  acc.seqP50.push(quantile(seq, 0.5));
  acc.seqP99.push(quantile(seq, 0.99));
  const conc = await echoConcurrent(port, MSGS, MSG_BYTES, CONNS, signal);
  acc.conc.push(...conc.us);
  acc.concRate.push(MSGS / (conc.ms / 1000));
}

const fresh = () => ({ download: [], upload: [], seq: [], seqP50: [], seqP99: [], conc: [], concRate: [] });
const freshHs = () => ({ download: [], upload: [] });
const f0 = (x) => x.toFixed(0);
const f1 = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

function table(sides, hs) {
  const [d, u] = [sides.direct, sides.up];
  const minMedMax = (xs) => `${f0(Math.min(...xs))} / **${f0(median(xs))}** / ${f0(Math.max(...xs))}`;
  const row = (name, fd, fu, ratio, better) => `| ${name} | ${fd} | ${fu} | **${ratio.toFixed(2)}** ${better} |`;
  const q = (xs, p) => quantile(xs, p);
  const lines = [
    `### Through \`up\` vs direct loopback (N = ${n} rounds, ${BYTES} B per transfer, ${MSGS} × ${MSG_BYTES} B round trips)`,
    "",
    "| measure | direct | through up | up / direct |",
    "| --- | ---: | ---: | ---: |",
    row("download MiB/s (min / median / max)", minMedMax(d.download), minMedMax(u.download), median(u.download) / median(d.download), "(higher is better)"),
    row("upload MiB/s (min / median / max)", minMedMax(d.upload), minMedMax(u.upload), median(u.upload) / median(d.upload), "(higher is better)"),
    row("sequential round trip p50 µs", f1(q(d.seq, 0.5)), f1(q(u.seq, 0.5)), q(u.seq, 0.5) / q(d.seq, 0.5), "(lower is better)"),
    row("sequential round trip p99 µs", f1(q(d.seq, 0.99)), f1(q(u.seq, 0.99)), q(u.seq, 0.99) / q(d.seq, 0.99), "(lower is better)"),
    row(`${CONNS} connections: round trip p50 µs`, f1(q(d.conc, 0.5)), f1(q(u.conc, 0.5)), q(u.conc, 0.5) / q(d.conc, 0.5), "(lower is better)"),
    row(`${CONNS} connections: round trip p99 µs`, f1(q(d.conc, 0.99)), f1(q(u.conc, 0.99)), q(u.conc, 0.99) / q(d.conc, 0.99), "(lower is better)"),
    row(`${CONNS} connections: round trips/s (median)`, f0(median(d.concRate)), f0(median(u.concRate)), median(u.concRate) / median(d.concRate), "(higher is better)"),
    "",
    `### Container → host service vs direct loopback (python client, ${HS_BYTES} B per transfer; direct: the same client on the host)`,
    "",
    "| measure | direct | through host service | host service / direct |",
    "| --- | ---: | ---: | ---: |",
    row("container → host (upload) MiB/s", minMedMax(hs.direct.upload), minMedMax(hs.svc.upload), median(hs.svc.upload) / median(hs.direct.upload), "(higher is better)"),
    row("host → container (download) MiB/s", minMedMax(hs.direct.download), minMedMax(hs.svc.download), median(hs.svc.download) / median(hs.direct.download), "(higher is better)"),
    "",
  ];
  const goal = (what, r, ok, text) => lines.push(`- ${what} = **${r.toFixed(2)}** (goal ${text}: ${ok ? "met" : "NOT met"})`);
  for (const dir of ["download", "upload"]) {
    const r = median(u[dir]) / median(d[dir]);
    goal(`\`up\` ${dir} throughput / direct`, r, r >= 0.9, "≥ 0.9");
  }
  const seqRatio = q(u.seq, 0.5) / q(d.seq, 0.5);
  goal("`up` sequential round trip p50 / direct", seqRatio, seqRatio <= 1.3, "≤ 1.3");
  for (const dir of ["upload", "download"]) {
    const r = median(hs.svc[dir]) / median(hs.direct[dir]);
    goal(`host service ${dir === "upload" ? "container → host" : "host → container"} throughput / direct`, r, r >= 0.9, "≥ 0.9");
  }
  lines.push(`- latency: percentiles over all ${n} × ${MSGS} round trips per side; per-round sequential p50 medians: direct ${f1(median(d.seqP50))} µs, up ${f1(median(u.seqP50))} µs`);
  return lines.join("\n");
}

try {
  const { address, option } = await engineContainerd();
  const registry = await registryWith(cleanups, ["python"]);
  const namespace = `bench-fwd-${process.pid}`;
  const client = await connect({ ...option, namespace, registryMirrors: { "docker.io": registry.url }, serviceGracePeriodMs: 0 });
  // The namespace is removed through the same socket connect() uses.
  cleanups.push(namespace, () => new Ctr(address, namespace).destroyNamespace());
  cleanups.push("svcd client", () => client.close());

  const directPort = await startHostServer();
  const svc = client.container().from("python").withNewFile("/srv/forward-server.py", serverSource).withExposedPort(8080)
    .asService({ args: ["python", "/srv/forward-server.py", "0.0.0.0", "8080"] });
  const upStarted = performance.now();
  const up = await svc.up({ random: true });
  cleanups.push("up handle", () => up.close());
  const upPort = up.ports[0].frontend;
  const hostSvc = client.host().service([{ frontend: 8080, backend: directPort }]);
  let unique = 0;
  const inContainer = async () =>
    clientFigures(await client.container().from("python").withNewFile("/srv/forward-client.py", clientSource)
      .withEnvVariable("N", `${process.pid}-${unique++}`).withServiceBinding("hostsvc", hostSvc)
      .withExec(["python", "/srv/forward-client.py", "hostsvc", "8080", String(HS_BYTES)]).stdout());
  log(`direct 127.0.0.1:${directPort}; up 127.0.0.1:${upPort} → service :8080 (up() took ${f0(performance.now() - upStarted)} ms)`);

  // Warm-up: one small round per side (not counted).
  for (const [name, port] of [["direct", directPort], ["up", upPort]]) {
    const signal = deadline();
    await download(port, 64 << 20, signal);
    await upload(port, 64 << 20, signal);
    await echoRoundTrips(port, 1000, MSG_BYTES, signal);
    log(`warm-up ${name} done`);
  }
  await hostClient(directPort);
  await inContainer();
  log("warm-up host service done");

  const sides = { direct: fresh(), up: fresh() };
  const ports = { direct: directPort, up: upPort };
  const hs = { direct: freshHs(), svc: freshHs() };
  const hsRun = { direct: () => hostClient(directPort), svc: inContainer };
  for (let i = 0; i < n; i++) {
    const order = i % 2 === 0 ? ["direct", "up"] : ["up", "direct"];
    for (const side of order) {
      const acc = sides[side];
      await round(ports[side], acc);
      log(`#${i + 1} ${side}: download ${f0(acc.download.at(-1))} MiB/s, upload ${f0(acc.upload.at(-1))} MiB/s, ` +
        `seq p50 ${f1(acc.seqP50.at(-1))} µs p99 ${f1(acc.seqP99.at(-1))} µs, ${CONNS} conns ${f0(acc.concRate.at(-1))} rt/s`);
    }
    for (const side of i % 2 === 0 ? ["direct", "svc"] : ["svc", "direct"]) {
      const got = await hsRun[side]();
      hs[side].download.push(got.download);
      hs[side].upload.push(got.upload);
      log(`#${i + 1} host service ${side}: download ${f0(got.download)} MiB/s, upload ${f0(got.upload)} MiB/s`);
    }
  }
  process.stdout.write(table(sides, hs) + "\n\n" + (await machineLine()) + `; containerd: ${address}${rootless ? " (rootless)" : ""}\n`);
} catch (err) {
  process.exitCode = 1;
  log(`bench failed: ${err?.stack ?? err}`);
} finally {
  await cleanups.run();
}
