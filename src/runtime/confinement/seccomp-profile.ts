// svcd's default seccomp profile, built from data at run time: ERRNO(EPERM) by default; every syscall name of the
// kernel headers allowed except the denylist (syscall-policy.ts); clone/unshare without namespace flags; clone3 →
// ENOSYS; personality with the usual values. Built per spec (cheap: ~450 names) so no caller shares a mutable copy.
import { release } from "node:os";
import type { SpecSeccomp, SpecSeccompArg, SpecSeccompRule } from "../spec.js";
import { SYSCALL_NAMES } from "./syscall-names.generated.js";
import {
  ALLOWED_PERSONALITIES,
  CLONE_NAMESPACE_FLAGS,
  CLONE_NEWTIME,
  CONDITIONAL_SYSCALLS,
  DENIED_SYSCALLS,
  ENOSYS,
  PTRACE_SYSCALLS,
} from "./syscall-policy.js";

/**
 * libseccomp architectures a filter covers, per Node's `process.arch`: the native one and its 32-bit compat ABI.
 * x32 is left out on purpose: libseccomp's x86_64 filter sends every syscall with the x32 bit (nr ≥ 0x40000000) to
 * the bad-architecture action (KILL), so x32 programs are refused outright rather than filtered — stricter, and
 * x32 is off or absent in most kernels. A third ABI roughly doubles what runc spends compiling the filter per
 * container (libseccomp merges x32 into the x86_64 program): ~5 ms of CPU per container start (bench/RESULTS.md).
 */
const ARCHITECTURES: Readonly<Record<string, readonly string[]>> = {
  x64: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
  arm64: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
};

export interface SeccompProfileOptions {
  /** Node's `process.arch` (default this process's). */
  arch?: string;
  /** The kernel release (default `os.release()`): ptrace is allowed from 4.8 on. */
  kernelRelease?: string;
}

/** The default profile as the OCI spec's `linux.seccomp` (runc 1.1: SCMP_ACT_ERRNO, errnoRet, SCMP_CMP_MASKED_EQ). */
export function defaultSeccompProfile(options: SeccompProfileOptions = {}): SpecSeccomp {
  const arch = options.arch ?? process.arch;
  const ptrace = kernelAtLeast(options.kernelRelease ?? release(), 4, 8);
  const withheld = new Set([...Object.keys(DENIED_SYSCALLS), ...CONDITIONAL_SYSCALLS, ...(ptrace ? [] : PTRACE_SYSCALLS)]);
  const allowed = SYSCALL_NAMES.filter((name) => !withheld.has(name));
  const syscalls: SpecSeccompRule[] = [
    { names: allowed, action: "SCMP_ACT_ALLOW" },
    { names: ["clone"], action: "SCMP_ACT_ALLOW", args: [noBits(0, CLONE_NAMESPACE_FLAGS)] },
    { names: ["unshare"], action: "SCMP_ACT_ALLOW", args: [noBits(0, CLONE_NAMESPACE_FLAGS | CLONE_NEWTIME)] },
    { names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS },
    // One rule per value: rules for the same syscall are alternatives.
    ...ALLOWED_PERSONALITIES.map((value): SpecSeccompRule => ({
      names: ["personality"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 0, value, op: "SCMP_CMP_EQ" }],
    })),
  ];
  return { defaultAction: "SCMP_ACT_ERRNO", architectures: [...(ARCHITECTURES[arch] ?? [])], syscalls };
}

/** Argument `index` has none of `mask`'s bits set: (arg & mask) == 0. */
function noBits(index: number, mask: number): SpecSeccompArg {
  return { index, value: mask, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" };
}

/** Whether a `uname -r` release ("6.1.0-18-amd64") is at least major.minor. */
export function kernelAtLeast(kernelRelease: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(kernelRelease);
  if (!m) return false;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  return maj > major || (maj === major && min >= minor);
}
