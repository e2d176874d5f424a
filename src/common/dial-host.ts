// The host a host service dials on the caller's side: an IP literal or a DNS name. Nothing else may reach a socket
// address (no user info, no zone index, no path). Here in common because both ends check it: the definition (the
// builders, the engine's door) and the forward layer that dials it.
import { isIP } from "node:net";
import { InvalidArgumentError } from "./errors.js";
import { quote } from "./quote.js";

const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** Throws unless `host` is an IPv4/IPv6 literal without a zone, or a DNS name (labels ≤ 63, ≤ 253 in all). */
export function assertDialHost(host: unknown, what = "host"): asserts host is string {
  if (typeof host !== "string") throw new InvalidArgumentError(`${what} must be a string, got ${typeof host}`);
  if (isIP(host) !== 0) {
    if (host.includes("%")) throw new InvalidArgumentError(`invalid ${what} ${quote(host)}: IPv6 zone indexes are not supported`);
    return;
  }
  const labels = host.split(".");
  // An all-numeric last label would make a bad IPv4 address (1.2.3.4.5, 999.1.1.1) pass as a name.
  if (host.length > 253 || !labels.every((l) => LABEL.test(l)) || /^[0-9]+$/.test(labels.at(-1) ?? "")) {
    throw new InvalidArgumentError(`invalid ${what} ${quote(host)}: use a host name (dot-separated DNS labels) or an IP address`);
  }
}
