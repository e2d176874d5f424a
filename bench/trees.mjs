// Benchmark: S1 of two svcd trees in one run — "before and after" a change (issue 8: no regression beyond 5 %).
// Each side is `<tree>/bench/services.mjs` with SCENARIOS=s1 PEERS= (svcd only), run in alternating blocks of BLOCK
// iterations (the order reverses every other round, so drifting load hits both sides); each block is its own
// process with its own state dirs, hub and forward agent, so two trees with different hub rulesets never share a
// hub. The per-iteration lines of both are pooled; the table gives min/median/max and the ratio after / before.
//
// usage: node bench/trees.mjs <before-tree> [<after-tree>, default: this tree]   (env N, default 20; BLOCK, default 5)
// Both trees need node_modules (a symlink to this tree's is enough). Uses $CONTAINERD_ADDRESS, else a private
// containerd started for the run (test/rig/containerd.ts) and stopped at the end.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Cleanups } from "./lib/session.mjs";
import { iterations, machineLine, report } from "./lib/stats.mjs";
import { loadRig } from "./lib/svcd.mjs";

const here = resolve(fileURLToPath(new URL("..", import.meta.url)));
const [beforeArg, afterArg] = process.argv.slice(2);
if (!beforeArg) {
  process.stderr.write("usage: node bench/trees.mjs <before-tree> [<after-tree>]\n");
  process.exit(2);
}
const sides = [
  { label: "before", tree: resolve(beforeArg) },
  { label: "after", tree: resolve(afterArg ?? here) },
];
for (const s of sides) {
  if (!existsSync(`${s.tree}/bench/services.mjs`)) throw new Error(`${s.tree}: no bench/services.mjs`);
}
const n = iterations({ N: process.env.N ?? "20" });
const block = Math.max(1, Math.min(n, Number(process.env.BLOCK ?? 5)));
const log = (s) => process.stderr.write(s + "\n");
const LINE = /^#\d+ (svcd [^:]+): ([\d.]+) ms$/;

/** Runs one block of one side; resolves the per-iteration totals by runner name. */
function runBlock(side, size, env) {
  return new Promise((resolveBlock, reject) => {
    const child = spawn(process.execPath, [`${side.tree}/bench/services.mjs`], {
      cwd: side.tree,
      env: { ...env, SCENARIOS: "s1", PEERS: "", N: String(size), BLOCK: String(size) },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const samples = {};
    let tail = "";
    let buffered = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        tail = (tail + line + "\n").slice(-4000);
        const m = LINE.exec(line.trim());
        if (m) (samples[m[1]] ??= []).push(Number(m[2]));
      }
    });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolveBlock(samples) : reject(new Error(`${side.label} block exited ${code}:\n${tail}`))));
  });
}

const cleanups = new Cleanups();
try {
  const env = { ...process.env };
  if (!env.CONTAINERD_ADDRESS) {
    const { startPrivateContainerd } = await loadRig("containerd");
    const containerd = await startPrivateContainerd();
    cleanups.push("containerd", () => containerd.stop());
    env.CONTAINERD_ADDRESS = containerd.address;
  }
  const pooled = {};
  let done = 0;
  for (let round = 0; done < n; round++) {
    const size = Math.min(block, n - done);
    for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
      const samples = await runBlock(side, size, env);
      for (const [runner, xs] of Object.entries(samples)) (pooled[`${runner} (${side.label})`] ??= []).push(...xs);
      log(`round ${round + 1} ${side.label}: ${JSON.stringify(samples)}`);
    }
    done += size;
  }
  const runners = [...new Set(Object.keys(pooled).map((k) => k.replace(/ \((before|after)\)$/, "")))];
  const ratios = runners.map((r) => [`${r} (after)`, `${r} (before)`, 1.05]);
  console.log(report(`S1, two trees in one run (N=${n} per side, blocks of ${block}): ${sides[0].tree} → ${sides[1].tree}`, pooled, ratios));
  console.log(`\n${await machineLine()}`);
} finally {
  await cleanups.run();
}
