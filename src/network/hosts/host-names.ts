// Validation of everything that may reach a hosts file, pure: DNS names and IP addresses. Nothing else is ever
// written there, so a newline, a space or a '#' in an alias cannot smuggle in a line or a comment.
import { isIP } from "node:net";
import { InvalidArgumentError } from "../../common/errors.js";

// Letters of either case are accepted (DNS compares case-insensitively); digits; '-' only inside a label.
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** True when `name` is a DNS name: dot-separated labels of a-z, 0-9 and inner '-', each ≤ 63, total ≤ 253. */
export function isDnsName(name: unknown): name is string {
  return typeof name === "string" && name.length > 0 && name.length <= 253 && name.split(".").every((l) => LABEL.test(l));
}

/** Throws InvalidArgumentError naming `what` unless `name` is a DNS name. */
export function validateDnsName(name: unknown, what = "host name"): string {
  if (!isDnsName(name)) {
    throw new InvalidArgumentError(
      `${what} ${JSON.stringify(name)} is not a DNS name (labels of a-z, 0-9 and inner '-', ≤ 63 chars, ≤ 253 in all)`,
    );
  }
  return name;
}

/** Throws InvalidArgumentError unless `ip` is an IPv4 or IPv6 address. */
export function validateIp(ip: unknown, what = "IP address"): string {
  if (typeof ip !== "string" || isIP(ip) === 0 || /[\s#]/.test(ip)) {
    throw new InvalidArgumentError(`${what} ${JSON.stringify(ip)} is not an IPv4 or IPv6 address`);
  }
  return ip;
}
