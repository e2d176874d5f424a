// Capability sets: podman's default (the strictest of the container engines) and the full root set that
// `insecureRootCapabilities` grants. Names as the OCI runtime spec writes them.
import { readFileSync } from "node:fs";
import { InvalidArgumentError } from "../../common/errors.js";

/**
 * Podman's default set (containers.conf default_capabilities): no NET_RAW (ICMP uses datagram sockets instead, see
 * PING_GROUP_RANGE), no MKNOD, no AUDIT_WRITE. Enough for package managers, chown'ing installers and servers on
 * ports below 1024.
 */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_NET_BIND_SERVICE",
  "CAP_SETFCAP",
  "CAP_SETGID",
  "CAP_SETPCAP",
  "CAP_SETUID",
  "CAP_SYS_CHROOT",
];

/** Every capability Linux defines up to 6.x (0 … 40, CAP_CHECKPOINT_RESTORE), in bit order. */
export const ALL_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
];

/** The capability bit mask of a set, as /proc/<pid>/status prints CapEff (16 hex digits). */
export function capabilityMask(caps: readonly string[]): string {
  let mask = 0n;
  for (const cap of caps) {
    const bit = ALL_CAPABILITIES.indexOf(cap);
    if (bit < 0) throw new InvalidArgumentError(`unknown capability ${JSON.stringify(cap)}: use a CAP_* name`);
    mask |= 1n << BigInt(bit);
  }
  return mask.toString(16).padStart(16, "0");
}

/** The capability names in a /proc/<pid>/status mask (hex), in bit order; bits Linux has no name for are skipped. */
export function capabilitiesOfMask(hex: string): string[] {
  const mask = BigInt(`0x${hex}`);
  return ALL_CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

/**
 * The full root set as this machine allows it: every capability in this process's bounding set (runc, started by
 * the same root, has the same one). runc refuses a capability outside its own bounding set ("unable to apply caps"),
 * so a sandbox that dropped, say, CAP_SYS_RESOURCE gets everything else.
 */
export function hostRootCapabilities(status: string = readFileSync("/proc/self/status", "utf8")): string[] {
  const bnd = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
  return bnd ? capabilitiesOfMask(bnd[1]!) : [...ALL_CAPABILITIES];
}
