// What the default seccomp profile refuses, and why. The allowlist is every syscall name of the kernel headers
// (syscall-names.generated.ts) minus DENIED_SYSCALLS minus the ones CONDITIONAL_SYSCALLS allows only with some
// arguments. A syscall the headers do not know (newer than them) meets the default action, or runc's ENOSYS stub.

/** Refused outright (EPERM), grouped by reason. Most also need a capability the default set lacks: defence in depth. */
export const DENIED_SYSCALLS: Readonly<Record<string, string>> = Object.freeze({
  ...group("loads or unloads kernel code", ["init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load"]),
  ...group("reboots the machine or changes its swap", ["reboot", "swapon", "swapoff"]),
  ...group("sets the host's clock (not namespaced)", ["settimeofday", "stime", "clock_settime", "clock_settime64", "adjtimex", "clock_adjtime", "clock_adjtime64"]),
  ...group("mounts or moves filesystems, old and new mount API", [
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
  ]),
  ...group("joins another namespace", ["setns"]),
  ...group("reaches the kernel keyring, which is not namespaced", ["keyctl", "add_key", "request_key"]),
  ...group("loads programs into the kernel or reads its events", ["bpf", "perf_event_open", "lookup_dcookie"]),
  ...group("lets a process stall kernel page faults (exploit aid)", ["userfaultfd"]),
  ...group("opens files by handle, bypassing the mount root (the 'shocker' escape)", ["open_by_handle_at"]),
  ...group("touches hardware ports or x86 legacy modes", ["iopl", "ioperm", "modify_ldt", "vm86", "vm86old"]),
  ...group("host-wide accounting, quotas, kernel log or terminals", ["acct", "quotactl", "quotactl_fd", "syslog", "vhangup"]),
  ...group("moves other processes' memory between NUMA nodes", ["migrate_pages", "move_pages"]),
  ...group("io_uring: a large attack surface that bypasses syscall filtering; callers fall back to plain IO", [
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
  ]),
  ...group("obsolete, removed or never implemented", [
    "_sysctl",
    "afs_syscall",
    "bdflush",
    "break",
    "create_module",
    "ftime",
    "get_kernel_syms",
    "getpmsg",
    "gtty",
    "idle",
    "lock",
    "mpx",
    "nfsservctl",
    "prof",
    "profil",
    "putpmsg",
    "query_module",
    "security",
    "stty",
    "tuxcall",
    "ulimit",
    "uselib",
    "vserver",
  ]),
});

/** CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET. */
export const CLONE_NAMESPACE_FLAGS = 0x7e020000;
/** CLONE_NEWTIME: valid for unshare; in clone's flags the low byte is the exit signal, so it is not checked there. */
export const CLONE_NEWTIME = 0x80;

/** personality(2) values allowed: PER_LINUX, PER_LINUX32, UNAME26, both, and the query 0xffffffff. */
export const ALLOWED_PERSONALITIES: readonly number[] = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

/** ENOSYS: what clone3 returns, so glibc (≥ 2.34) falls back to clone, whose flags a filter can inspect. */
export const ENOSYS = 38;

/**
 * Syscalls the profile writes its own rules for (never in the plain allowlist): clone and unshare without any
 * namespace flag (a new user namespace is the door to every other), clone3 → ENOSYS (its flags sit in memory, out
 * of a filter's reach), personality with the usual values only.
 */
export const CONDITIONAL_SYSCALLS: readonly string[] = ["clone", "clone3", "unshare", "personality"];

/**
 * ptrace is allowed from Linux 4.8 on: before it, a traced process could change a syscall after seccomp checked it.
 * process_vm_readv/writev, kcmp and pidfd_getfd follow the same ptrace access checks and the same rule.
 */
export const PTRACE_SYSCALLS: readonly string[] = ["ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd"];

function group(reason: string, names: string[]): Record<string, string> {
  return Object.fromEntries(names.map((n) => [n, reason]));
}
