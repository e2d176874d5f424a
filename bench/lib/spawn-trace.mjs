// Where helper processes cost time: wraps child_process.spawn in this process (builtin ESM exports re-synced, so
// svcd's `import { spawn }` sees the wrapper) and records each helper's command and wall time from spawn to exit.
// Diagnostic only (BENCH_SPAWNS=1 in services.mjs); svcd's code is not touched.
import childProcess from "node:child_process";
import { syncBuiltinESMExports } from "node:module";

/** Installs the wrapper; returns a recorder whose `take()` hands over (and clears) what was recorded since. */
export function traceSpawns() {
  const original = childProcess.spawn;
  let records = [];
  childProcess.spawn = function tracedSpawn(file, args, ...rest) {
    const started = performance.now();
    const child = original.call(this, file, args, ...rest);
    const name = helperName(file, Array.isArray(args) ? args : []);
    child.once("exit", () => records.push({ name, ms: performance.now() - started }));
    return child;
  };
  syncBuiltinESMExports();
  return {
    take() {
      const out = records;
      records = [];
      return out;
    },
    uninstall() {
      childProcess.spawn = original;
      syncBuiltinESMExports();
    },
  };
}

/**
 * A helper's name: its command, and through nsenter what nsenter runs, with the namespaces it enters, e.g.
 * `nsenter --net ip` (rootful) or `nsenter -U -m → nsenter --net ip` (rootless: NamespaceRunner's wrapper first).
 */
function helperName(file, argv) {
  const base = String(file).split("/").pop();
  if (base !== "nsenter") return base;
  // Options end at "--", or else before the first argument that is not an option nor the value of -t.
  const dash = argv.indexOf("--");
  const cmd = dash >= 0 ? dash + 1 : argv.findIndex((a, i) => !a.startsWith("-") && argv[i - 1] !== "-t" && argv[i - 1] !== "--target");
  const opts = cmd < 0 ? argv : argv.slice(0, dash >= 0 ? dash : cmd);
  const rest = cmd < 0 ? [] : argv.slice(cmd);
  const ns = [opts.includes("-U") && "-U", opts.includes("-m") && "-m", opts.some((a) => a.startsWith("--net")) && "--net"].filter(Boolean).join(" ");
  if (!rest.length) return `nsenter ${ns}`;
  const inner = helperName(rest[0], rest.slice(1));
  return inner.startsWith("nsenter") ? `nsenter ${ns} → ${inner}` : `nsenter ${ns} ${inner}`;
}
