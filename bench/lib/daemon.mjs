// The svcd daemon for a bench: dist/cli/svcd.js on a private socket with the bench's environment (containerd, dirs,
// mirrors), with the node flags its own shebang gives it (or BENCH_DAEMON_FLAGS, space-separated, to try others),
// resolved once it says it is serving; stopped (SIGTERM) by the bench's cleanups.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The node flags of the daemon's shebang (`#!/usr/bin/env -S node <flags>`), as a unit's ExecStart runs it. */
export function daemonNodeFlags(entry) {
  if (process.env.BENCH_DAEMON_FLAGS !== undefined) return process.env.BENCH_DAEMON_FLAGS.split(/\s+/).filter(Boolean);
  const shebang = readFileSync(entry, "utf8").split("\n", 1)[0];
  const m = /^#!\/usr\/bin\/env -S node(.*)$/.exec(shebang);
  if (!m) throw new Error(`${entry}: unexpected shebang ${JSON.stringify(shebang)}`);
  return m[1].split(/\s+/).filter(Boolean);
}

export async function startDaemon(cleanups, socket, namespace) {
  const entry = fileURLToPath(new URL("../../dist/cli/svcd.js", import.meta.url));
  const child = spawn(process.execPath, [...daemonNodeFlags(entry), "--expose-gc", entry, "--socket", socket, "--namespace", namespace], { env: process.env, stdio: ["ignore", "inherit", "pipe"] });
  let err = "";
  child.stderr.setEncoding("utf8");
  await new Promise((resolve, reject) => {
    const onData = (chunk) => {
      err += chunk;
      if (err.includes("serving on")) {
        child.off("exit", onExit);
        resolve();
      }
    };
    const onExit = (code, signal) => {
      child.stderr.off("data", onData);
      reject(new Error(`svcd exited (${signal ?? code}) before serving:\n${err}`));
    };
    child.stderr.on("data", onData);
    child.once("exit", onExit);
  });
  child.stderr.on("data", (chunk) => process.stderr.write(chunk)); // its log from here on
  cleanups.push("svcd daemon", async () => {
    child.kill("SIGTERM");
    await once(child, "exit");
  });
  return child;
}
