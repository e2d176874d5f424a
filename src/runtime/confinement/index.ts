// Confinement defaults (DESIGN.md §3): podman's capability set, svcd's seccomp profile, noNewPrivileges, runc's
// masked and read-only kernel paths, and unprivileged ICMP echo. `insecureRootCapabilities` lifts the first three.
import type { Spec } from "../spec.js";
import { DEFAULT_CAPABILITIES, hostRootCapabilities } from "./capabilities.js";
import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from "./kernel-paths.js";
import { defaultSeccompProfile } from "./seccomp-profile.js";

export { ALL_CAPABILITIES, DEFAULT_CAPABILITIES, capabilityMask, capabilitiesOfMask, hostRootCapabilities } from "./capabilities.js";
export { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from "./kernel-paths.js";
export { defaultSeccompProfile, kernelAtLeast, type SeccompProfileOptions } from "./seccomp-profile.js";
export { DENIED_SYSCALLS, CONDITIONAL_SYSCALLS, CLONE_NAMESPACE_FLAGS, CLONE_NEWTIME, ENOSYS } from "./syscall-policy.js";
export { SYSCALL_NAMES } from "./syscall-names.generated.js";

/**
 * Every group id may open ICMP datagram sockets (`ping` without NET_RAW), as Docker sets it. The sysctl is per
 * network namespace, and every svcd container has its own.
 */
export const PING_GROUP_RANGE: Readonly<Record<string, string>> = { "net.ipv4.ping_group_range": "0 2147483647" };

function setCapabilities(spec: Spec, caps: readonly string[]): void {
  const prev = spec.process.capabilities ?? {};
  spec.process.capabilities = { ...prev, bounding: [...caps], permitted: [...caps], effective: [...caps] };
}

/**
 * Replaces capabilities, seccomp, noNewPrivileges, masked and read-only paths with the defaults, and merges the ping
 * sysctl. The default spec starts this way; applying it again undoes an earlier lift.
 */
export function applyConfinement(spec: Spec): void {
  setCapabilities(spec, DEFAULT_CAPABILITIES);
  spec.process.noNewPrivileges = true;
  spec.linux.seccomp = defaultSeccompProfile();
  spec.linux.maskedPaths = [...DEFAULT_MASKED_PATHS];
  spec.linux.readonlyPaths = [...DEFAULT_READONLY_PATHS];
  spec.linux.sysctl = { ...spec.linux.sysctl, ...PING_GROUP_RANGE };
}

/**
 * `insecureRootCapabilities`: the full root capability set (`caps`, default the host's: hostRootCapabilities) and no
 * seccomp filter. noNewPrivileges is lifted too, as Docker's --privileged leaves it off: with every capability it
 * guards nothing, and it would break setuid and file-capability tools (sudo, newuidmap) such steps run. Masked and
 * read-only paths stay: /proc/kcore and friends expose the host, not the container.
 */
export function applyInsecureRootCapabilities(spec: Spec, caps: readonly string[] = hostRootCapabilities()): void {
  setCapabilities(spec, caps);
  spec.process.noNewPrivileges = false;
  delete spec.linux.seccomp;
}
