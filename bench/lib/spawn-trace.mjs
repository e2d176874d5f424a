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
    const argv = Array.isArray(args) ? args : [];
    // nsenter --net=<path> [--] <cmd> …: name the command it runs.
    const inner = file === "nsenter" || String(file).endsWith("/nsenter") ? argv.filter((a) => !a.startsWith("-"))[0] : undefined;
    const name = `${String(file).split("/").pop()}${inner ? ` ${inner}` : ""}`;
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
