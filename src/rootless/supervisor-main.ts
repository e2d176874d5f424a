// Entry of the containerd supervisor process (see containerd-supervisor.ts), started detached by
// ensureManagedContainerd:  supervisor-main --socket S --log L --log-max-bytes N --pid-file P --child-pid-file C -- containerd ARGS…
import { lstatSync, mkdirSync, unlinkSync } from "node:fs";
import { CappedLog } from "./capped-log.js";
import { SUPERVISOR_PROGRAM, superviseContainerd } from "./containerd-supervisor.js";
import { parseSupervisorArgs } from "./supervisor-args.js";

process.title = SUPERVISOR_PROGRAM;
const args = parseSupervisorArgs(process.argv.slice(2));
const log = new CappedLog(args.log, args.logMaxBytes);
process.on("uncaughtException", (err) => {
  log.write(`svcd-supervisor[${process.pid}]: ${err.stack ?? String(err)}\n`);
  process.exit(70);
});
// Inside rootlesskit's copy-up of /run, an entry the host has (root's /run/containerd) is a link to the host's
// directory, which the user cannot write: it is replaced by a directory of the namespace's own.
for (const dir of args.makeDirs) {
  try {
    if (lstatSync(dir).isSymbolicLink()) unlinkSync(dir);
  } catch {
    // absent: made below
  }
  mkdirSync(dir, { recursive: true, mode: 0o711 });
}
const status = await superviseContainerd({
  ...args,
  log,
  onStopRequest: (stop) => {
    for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, stop);
    process.on("SIGHUP", () => {}); // no terminal: a stray hangup must not end supervision
  },
});
log.close();
process.exit(status);
