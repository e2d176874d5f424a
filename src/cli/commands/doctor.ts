// `svc doctor`: what this machine has of what svcd needs, and the exact fix for each missing piece; exit 1 when
// something is missing. The daemon is reported, never a failure: without one, svc and the library run embedded.
import { daemonSocketPath, probeDaemon } from "../../daemon/index.js";
import { machineChecks, type MachineCheck } from "../../engine/index.js";
import { printText } from "../call/print-result.js";

export async function doctor(opts: { json: boolean }): Promise<number> {
  const checks = await machineChecks();
  const socket = daemonSocketPath(undefined);
  const probe = await probeDaemon(socket);
  const daemon: MachineCheck =
    probe.state === "answers"
      ? { name: "daemon", ok: true, detail: `svcd ${probe.version.version} answers at ${socket} (pid ${probe.version.pid}${probe.version.rootless ? ", rootless" : ""})` }
      : probe.state === "denied"
        ? { name: "daemon", ok: false, detail: `${socket} is not yours to open (owner ${probe.owner}, group ${probe.group}, mode ${probe.mode})`, fix: `as root: usermod -aG ${probe.group} $USER, then log in again` }
        : { name: "daemon", ok: true, detail: `none at ${socket} (${probe.reason}): svc runs an embedded engine; for one: systemctl ${process.getuid?.() === 0 ? "" : "--user "}enable --now svcd.socket` };
  checks.push(daemon);
  if (opts.json) printText(JSON.stringify(checks));
  else {
    const width = Math.max(...checks.map((c) => c.name.length));
    printText(checks.map((c) => `${c.ok ? "ok  " : "FAIL"}  ${c.name.padEnd(width)}  ${c.detail}${c.fix ? `\n      ${" ".repeat(width)}  fix: ${c.fix}` : ""}`).join("\n"));
  }
  return checks.every((c) => c.ok) ? 0 : 1;
}
