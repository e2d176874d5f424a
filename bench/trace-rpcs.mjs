// Summarises where a benchmark's time goes on containerd's side: reads a run made with DEBUG=svcd:containerd (stderr
// merged into stdin), and prints, per timed runner, the median of each containerd call's duration per iteration.
// Tasks.Wait is issued before Tasks.Start and returns at the exit, so it overlaps the others and is left out of
// the sum. Usage: DEBUG=svcd:containerd N=10 node bench/run.mjs 2>&1 | node bench/trace-rpcs.mjs
import { createInterface } from "node:readline";
import { median } from "./lib/stats.mjs";

const RPC = /svcd:containerd (\S+) ns=\S+(?: lease=\S+)? (\d+)ms/;
const DONE = /^#\d+ (.+): ([\d.]+) ms$/;
const byRunner = new Map(); // runner → { totals: number[], calls: Map<method, number[]> }
let pending = new Map(); // method → summed ms since the last timed iteration ended

for await (const line of createInterface({ input: process.stdin })) {
  const rpc = RPC.exec(line);
  if (rpc) {
    pending.set(rpc[1], (pending.get(rpc[1]) ?? 0) + Number(rpc[2]));
    continue;
  }
  const done = DONE.exec(line);
  if (line.startsWith("warm-up ")) pending = new Map();
  if (!done) continue;
  const [, runner, ms] = done;
  const entry = byRunner.get(runner) ?? { totals: [], calls: new Map() };
  entry.totals.push(Number(ms));
  const n = entry.totals.length;
  for (const [method, sum] of pending) {
    const xs = entry.calls.get(method) ?? [];
    while (xs.length < n - 1) xs.push(0); // a call absent from earlier iterations
    xs.push(sum);
    entry.calls.set(method, xs);
  }
  byRunner.set(runner, entry);
  pending = new Map();
}

for (const [runner, { totals, calls }] of byRunner) {
  let rpcSum = 0;
  console.log(`\n${runner}: median ${median(totals).toFixed(1)} ms over ${totals.length}`);
  for (const [method, xs] of [...calls].sort((a, b) => median(b[1]) - median(a[1]))) {
    const m = median(xs);
    if (method !== "Tasks.Wait") rpcSum += m;
    console.log(`  ${method.padEnd(22)} ${m.toFixed(0).padStart(5)} ms`);
  }
  if (calls.size) console.log(`  ${"(sum, w/o Tasks.Wait)".padEnd(22)} ${rpcSum.toFixed(0).padStart(5)} ms; outside containerd calls ≈ ${(median(totals) - rpcSum).toFixed(0)} ms`);
}
