// What a container's /etc/hosts, /etc/resolv.conf and /etc/hostname hold, pure: rendering and rewriting the managed
// block. Every name and address is validated before any text is produced, so a bad entry throws and nothing is
// rendered (the store then writes nothing).
import { InvalidArgumentError } from "../../common/errors.js";
import { validateDnsName, validateIp } from "./host-names.js";

/** One hosts line: an address and the names that resolve to it. */
export interface HostsEntry {
  ip: string;
  names: string[];
}

export const BLOCK_BEGIN = "# svcd: managed block";
export const BLOCK_END = "# svcd: end";

/** Where a container's hostname points when it has no address of its own (Debian's convention). */
const NO_ADDRESS_HOSTNAME_IP = "127.0.1.1";

/** Validates entries (each needs an address and at least one name); returns copies safe to render. */
export function validateEntries(entries: unknown): HostsEntry[] {
  if (!Array.isArray(entries)) throw new InvalidArgumentError("hosts entries must be an array");
  return entries.map((entry, i) => {
    const { ip, names } = (entry ?? {}) as { ip?: unknown; names?: unknown };
    if (!Array.isArray(names) || names.length === 0) {
      throw new InvalidArgumentError(`hosts entry #${i} needs at least one name`);
    }
    return { ip: validateIp(ip, `hosts entry #${i} address`), names: names.map((n) => validateDnsName(n, `hosts entry #${i} name`)) };
  });
}

/** The managed block's lines, markers included. */
export function renderManagedBlock(entries: HostsEntry[]): string {
  const lines = validateEntries(entries).map((e) => `${e.ip} ${e.names.join(" ")}`);
  return [BLOCK_BEGIN, ...lines, BLOCK_END].join("\n") + "\n";
}

/** A whole hosts file: localhost, the container's own address and hostname, then the managed block. */
export function renderHostsFile(opts: { hostname: string; ip?: string; entries?: HostsEntry[] }): string {
  const hostname = validateDnsName(opts.hostname, "hostname");
  const ip = opts.ip === undefined ? NO_ADDRESS_HOSTNAME_IP : validateIp(opts.ip);
  const block = renderManagedBlock(opts.entries ?? []);
  return (
    "# Written by svcd. Lines between the markers below are rewritten in place whenever this session's services\n" +
    "# change; edits there are lost.\n" +
    "127.0.0.1 localhost\n" +
    "::1 localhost ip6-localhost ip6-loopback\n" +
    `${ip} ${hostname}\n` +
    block
  );
}

/** `content` with its managed block replaced by one for `entries` (appended when the markers are missing). */
export function replaceManagedBlock(content: string, entries: HostsEntry[]): string {
  const block = renderManagedBlock(entries);
  const lines = content.split("\n");
  const begin = lines.indexOf(BLOCK_BEGIN);
  if (begin < 0) return (content === "" || content.endsWith("\n") ? content : content + "\n") + block;
  const endAt = lines.indexOf(BLOCK_END, begin + 1);
  const before = lines.slice(0, begin).join("\n");
  const after = endAt < 0 ? "" : lines.slice(endAt + 1).join("\n");
  return (before ? before + "\n" : "") + block + after;
}

/**
 * resolv.conf: service names resolve through /etc/hosts; `nameservers` (egress's DNS forwarder) resolve the rest.
 * Without nameservers (egress off) the file names none, as before egress existed.
 */
export function renderResolvConf(opts: { nameservers?: readonly string[] } = {}): string {
  const servers = (opts.nameservers ?? []).map((ip, i) => validateIp(ip, `nameserver #${i}`));
  if (servers.length === 0) {
    return "# Written by svcd: service names resolve through /etc/hosts; no DNS server is configured yet.\noptions ndots:0\n";
  }
  return (
    "# Written by svcd: service names resolve through /etc/hosts, other names through egress's DNS forwarder.\n" +
    servers.map((ip) => `nameserver ${ip}\n`).join("") +
    "options ndots:0\n"
  );
}

/** /etc/hostname. */
export function renderHostname(hostname: string): string {
  return validateDnsName(hostname, "hostname") + "\n";
}
