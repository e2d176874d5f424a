// `svc version`: svc's version, node's, and the daemon's when one answers at the socket connect() would use.
import { daemonSocketPath, probeDaemon, svcdVersion } from "../../daemon/index.js";
import { printText } from "../call/print-result.js";

export async function version(opts: { json: boolean }): Promise<number> {
  const socket = daemonSocketPath(undefined);
  const probe = await probeDaemon(socket);
  const daemon = probe.state === "answers" ? { socket, version: probe.version.version } : { socket, state: probe.state };
  if (opts.json) {
    printText(JSON.stringify({ svc: svcdVersion(), node: process.version, daemon }));
    return 0;
  }
  const lines = [`svc ${svcdVersion()} (node ${process.version})`];
  if (probe.state === "answers") lines.push(`daemon ${probe.version.version} at ${socket}`);
  else lines.push(`daemon: none answers at ${socket} (${probe.state === "denied" ? `not yours to open: owner ${probe.owner}, group ${probe.group}` : probe.reason}); svc runs an embedded engine`);
  printText(lines.join("\n"));
  return 0;
}
