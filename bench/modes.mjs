// Benchmark: rootless vs rootful in one run (issue 9: S1 rootless/rootful ≤ 1.1, forwarding throughput rootless ≥
// 0.9× rootful). The svcd side of S1 (`SCENARIOS=s1 PEERS= bench/services.mjs`) and bench/forward.mjs run in
// alternating blocks, once as root and once as an unprivileged user (`runuser -u $BENCH_USER -- env -i …`), the
// order reversing every other round so drifting load hits both modes. Each block is its own process: as root on a
// private containerd started for the run (or $CONTAINERD_ADDRESS), as the user on the user's own rootless containerd
// (connect() picks it; started by the first block, left running as connect() leaves it). The per-iteration lines of
// all blocks are pooled per mode; the tables give min/median/max and the ratios rootless / rootful.
//
// usage: sudo node bench/modes.mjs
//   env N (S1 iterations per mode, default 10), BLOCK (default 5), FWD_N (forward rounds per mode, default 4),
//   FWD_BLOCK (default 2), BYTES / MSGS (passed to forward.mjs), PARTS (default "s1,forward"),
//   BENCH_USER (default svcd-test; needs sub-uid/gid ranges and read access to this tree), BENCH_SPAWNS=1 (adds the
//   helper-process tables of each mode's last S1 block).
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Cleanups } from "./lib/session.mjs";
import { iterations, machineLine, median, report } from "./lib/stats.mjs";
import { loadRig } from "./lib/svcd.mjs";

const here = resolve(fileURLToPath(new URL("..", import.meta.url)));
if ((process.getuid?.() ?? 0) !== 0) {
  process.stderr.write("bench/modes.mjs runs both modes, so it must start as root (sudo node bench/modes.mjs)\n");
  process.exit(2);
}
const user = process.env.BENCH_USER || "svcd-test";
const parts = new Set((process.env.PARTS ?? "s1,forward").split(",").filter(Boolean));
const n = iterations({ N: process.env.N ?? "10" });
const block = Math.max(1, Math.min(n, Number(process.env.BLOCK ?? 5)));
const fwdN = iterations({ N: process.env.FWD_N ?? "4" });
const fwdBlock = Math.max(1, Math.min(fwdN, Number(process.env.FWD_BLOCK ?? 2)));
const log = (s) => process.stderr.write(s + "\n");
const MODES = ["rootful", "rootless"];

/** The user's home, from the passwd database (getent). */
async function homeOf(name) {
  const out = await new Promise((res, rej) => {
    const c = spawn("getent", ["passwd", name], { stdio: ["ignore", "pipe", "inherit"] });
    let s = "";
    c.stdout.on("data", (d) => (s += d));
    c.once("error", rej);
    c.once("exit", (code) => (code === 0 ? res(s) : rej(new Error(`BENCH_USER ${name}: no such user (getent passwd exited ${code})`))));
  });
  return out.trim().split(":")[5];
}

/**
 * Runs one block of `script` in `mode`; resolves { lines, stdout }: stderr lines, stdout text. Root: this process's
 * environment plus `vars`. Rootless: a clean login-like environment (HOME, PATH, LANG) plus `vars`, as that user.
 */
function runBlock(mode, script, vars, env) {
  const [file, args, childEnv] = mode === "rootful"
    ? [process.execPath, [script], { ...env, ...vars }]
    : ["runuser", ["-u", user, "--", "env", "-i", `HOME=${env.USER_HOME}`, `PATH=${process.env.PATH}`, "LANG=C.UTF-8",
      ...Object.entries(vars).map(([k, v]) => `${k}=${v}`), process.execPath, script], process.env];
  return new Promise((resolveBlock, reject) => {
    const child = spawn(file, args, { cwd: here, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
    const lines = [];
    let stdout = "";
    let tail = "";
    let buffered = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      buffered += chunk;
      const split = buffered.split("\n");
      buffered = split.pop() ?? "";
      for (const line of split) {
        tail = (tail + line + "\n").slice(-4000);
        lines.push(line.trim());
        // The per-iteration lines, with their mode, to our stderr (progress and the raw figures).
        if (/^(#\d+ |phases: |warm-up )/.test(line.trim())) log(`  ${mode}: ${line.trim()}`);
      }
    });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolveBlock({ lines, stdout }) : reject(new Error(`${mode} ${script} block exited ${code}:\n${tail}`))));
  });
}

/** Splits `total` into blocks of at most `size`. */
function blocks(total, size) {
  const out = [];
  for (let left = total; left > 0; left -= size) out.push(Math.min(size, left));
  return out;
}

/** Rounds of one block per mode, the order reversing every other round; `take` pools a block's result. */
async function alternateModes(name, total, size, run, take) {
  for (const [round, k] of blocks(total, size).entries()) {
    for (const mode of round % 2 === 0 ? MODES : [...MODES].reverse()) {
      const started = performance.now();
      const result = await run(mode, k);
      take(mode, result);
      log(`${name} round ${round + 1} ${mode}: ${k} iteration(s), block took ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
  }
}

const S1_LINE = /^#\d+ (svcd [^:]+): ([\d.]+) ms$/;
const S1_PHASES = /^phases: (.*)$/;
const FWD_LINE = /^#\d+ (direct|up): download (\d+) MiB\/s, upload (\d+) MiB\/s, seq p50 ([\d.]+) µs p99 ([\d.]+) µs, \d+ conns (\d+) rt\/s$/;

const cleanups = new Cleanups();
try {
  const env = { ...process.env, USER_HOME: await homeOf(user) };
  if (!env.CONTAINERD_ADDRESS) {
    const { startPrivateContainerd } = await loadRig("containerd");
    const containerd = await startPrivateContainerd();
    cleanups.push("containerd", () => containerd.stop());
    env.CONTAINERD_ADDRESS = containerd.address;
  }
  const out = [];

  if (parts.has("s1")) {
    const pooled = {};
    const phases = {};
    const lastStdout = {};
    const spawnsVar = process.env.BENCH_SPAWNS === "1" ? { BENCH_SPAWNS: "1" } : {};
    await alternateModes("S1", n, block, (mode, k) => runBlock(mode, "bench/services.mjs", { SCENARIOS: "s1", PEERS: "", N: String(k), BLOCK: String(k), ...spawnsVar }, env), (mode, { lines, stdout }) => {
      let runner;
      for (const line of lines) {
        const m = S1_LINE.exec(line);
        if (m) {
          runner = `${m[1]} (${mode})`;
          (pooled[runner] ??= []).push(Number(m[2]));
          continue;
        }
        const p = S1_PHASES.exec(line);
        if (p && runner) for (const part of p[1].split(", ")) {
          const [phase, ms] = part.split(" ");
          ((phases[runner] ??= {})[phase] ??= []).push(Number(ms));
        }
      }
      lastStdout[mode] = stdout;
    });
    const runners = [...new Set(Object.keys(pooled).map((k) => k.replace(/ \((rootful|rootless)\)$/, "")))];
    const ratios = runners.map((r, i) => [`${r} (rootless)`, `${r} (rootful)`, i === 0 ? 1.1 : undefined]);
    out.push(report(`S1 rootless vs rootful (N=${n} per mode, blocks of ${block}; rootless as ${user}; lower is better)`, pooled, ratios));
    const cols = Object.keys(phases);
    const names = [...new Set(cols.flatMap((c) => Object.keys(phases[c])))];
    const lines = ["#### S1 medians per phase (ms)", "", `| phase | ${cols.join(" | ")} |`, `| --- |${cols.map(() => " ---: |").join("")}`];
    for (const ph of names) lines.push(`| ${ph} | ${cols.map((c) => (phases[c][ph]?.length ? median(phases[c][ph]).toFixed(0) : "–")).join(" | ")} |`);
    out.push(lines.join("\n"));
    if (spawnsVar.BENCH_SPAWNS) {
      for (const mode of MODES) {
        // Each table: its heading, a blank line, its rows (up to the next blank line).
        const tables = lastStdout[mode].split(/\n(?=#### )/).filter((t) => t.startsWith("#### helper processes"));
        out.push(...tables.map((t) => t.split("\n\n").slice(0, 2).join("\n\n").replace(/^#### helper processes per iteration: /, `#### ${mode}, last block: helper processes per iteration: `)));
      }
    }
  }

  if (parts.has("forward")) {
    const vars = {};
    for (const k of ["BYTES", "MSGS", "MSG_BYTES", "CONNS"]) if (process.env[k]) vars[k] = process.env[k];
    /** mode → side → measure → per-round figures. */
    const acc = {};
    await alternateModes("forward", fwdN, fwdBlock, (mode, k) => runBlock(mode, "bench/forward.mjs", { ...vars, N: String(k) }, env), (mode, { lines }) => {
      for (const line of lines) {
        const m = FWD_LINE.exec(line);
        if (!m) continue;
        const side = ((acc[mode] ??= {})[m[1]] ??= { download: [], upload: [], seqP50: [], seqP99: [], concRate: [] });
        side.download.push(Number(m[2]));
        side.upload.push(Number(m[3]));
        side.seqP50.push(Number(m[4]));
        side.seqP99.push(Number(m[5]));
        side.concRate.push(Number(m[6]));
      }
    });
    const f0 = (x) => x.toFixed(0);
    const mmm = (xs) => `${f0(Math.min(...xs))} / **${f0(median(xs))}** / ${f0(Math.max(...xs))}`;
    const measures = [
      ["download", "download MiB/s", "higher"],
      ["upload", "upload MiB/s", "higher"],
      ["concRate", `${vars.CONNS ?? 16} connections: round trips/s`, "higher"],
      ["seqP50", "sequential round trip p50 µs (per-round)", "lower"],
      ["seqP99", "sequential round trip p99 µs (per-round)", "lower"],
    ];
    const lines = [
      `### Forwarding rootless vs rootful (FWD_N=${fwdN} rounds per mode, blocks of ${fwdBlock}, ${vars.BYTES ?? 2 ** 30} B per transfer; rootless as ${user})`,
      "",
      "| measure (min / median / max) | rootful: up | rootless: up | rootless / rootful | rootful: direct | rootless: direct |",
      "| --- | ---: | ---: | ---: | ---: | ---: |",
    ];
    const verdicts = [];
    for (const [key, label, better] of measures) {
      const [ru, lu] = [acc.rootful.up[key], acc.rootless.up[key]];
      const r = median(lu) / median(ru);
      lines.push(`| ${label} | ${mmm(ru)} | ${mmm(lu)} | **${r.toFixed(2)}** (${better} is better) | ${mmm(acc.rootful.direct[key])} | ${mmm(acc.rootless.direct[key])} |`);
      if (key === "download" || key === "upload") {
        verdicts.push(`- ${key} throughput through up, rootless / rootful = **${r.toFixed(2)}** (goal ≥ 0.9: ${r >= 0.9 ? "met" : "NOT met"})`);
        const rel = (mode) => median(acc[mode].up[key]) / median(acc[mode].direct[key]);
        verdicts.push(`  - up / direct in the same rounds: rootful ${rel("rootful").toFixed(2)}, rootless ${rel("rootless").toFixed(2)}`);
      }
    }
    out.push([...lines, "", ...verdicts].join("\n"));
  }

  console.log(out.join("\n\n"));
  console.log(`\n${await machineLine()}; rootful containerd: ${env.CONTAINERD_ADDRESS}; rootless: ${user}'s own`);
} finally {
  await cleanups.run();
}
