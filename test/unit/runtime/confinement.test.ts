// The confinement defaults as data: capabilities, seccomp profile, noNewPrivileges, kernel paths, ping sysctl, and
// what insecureRootCapabilities lifts.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  ALL_CAPABILITIES,
  buildSpec,
  capabilityMask,
  containerSpec,
  hostRootCapabilities,
  DEFAULT_CAPABILITIES,
  defaultSeccompProfile,
  DENIED_SYSCALLS,
  withConfinement,
  withInsecureRootCapabilities,
  type SpecSeccompRule,
  type StartContainerOptions,
} from "../../../src/runtime/index.js";
import { SYSCALL_NAMES, capabilitiesOfMask } from "../../../src/runtime/confinement/index.js";
import { isCode } from "../../helpers/errors.js";
import { Paths } from "../../../src/common/paths.js";
import { HostProcessRunner } from "../../../src/common/process-runner.js";

const id = { namespace: "ns1", id: "c1" };
const PODMAN = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"];

function rules(name: string, profile = defaultSeccompProfile({ arch: "x64", kernelRelease: "6.1.0" })): SpecSeccompRule[] {
  return profile.syscalls.filter((r) => r.names.includes(name));
}

test("the default spec has podman's capabilities, noNewPrivileges and a seccomp filter", () => {
  const s = buildSpec(id);
  const caps = s.process.capabilities!;
  for (const set of [caps.bounding, caps.permitted, caps.effective]) assert.equal([...set!].sort(), PODMAN.map((c) => `CAP_${c}`).sort());
  for (const absent of ["CAP_NET_RAW", "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SYS_ADMIN"]) assert.not.ok(caps.bounding!.includes(absent), absent);
  assert.is(caps.inheritable, undefined);
  assert.is(caps.ambient, undefined);
  assert.is(s.process.noNewPrivileges, true);
  assert.is(s.linux.seccomp?.defaultAction, "SCMP_ACT_ERRNO");
  assert.equal(s.linux.sysctl, { "net.ipv4.ping_group_range": "0 2147483647" });
  for (const p of ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware", "/sys/devices/virtual/powercap"]) assert.ok(s.linux.maskedPaths!.includes(p), p);
  for (const p of ["/proc/sys", "/proc/sysrq-trigger", "/proc/bus", "/proc/fs", "/proc/irq"]) assert.ok(s.linux.readonlyPaths!.includes(p), p);
});

test("capability masks match /proc/<pid>/status (podman's CapEff 00000000800405fb)", () => {
  assert.is(capabilityMask(DEFAULT_CAPABILITIES), "00000000800405fb");
  assert.is(capabilityMask(ALL_CAPABILITIES), "000001ffffffffff");
  assert.throws(() => capabilityMask(["CAP_NOPE"]), isCode("INVALID_ARGUMENT"));
});

test("seccomp: default EPERM, x86_64 and i386 (not x32), every known syscall allowed but the denylist", () => {
  const p = defaultSeccompProfile({ arch: "x64", kernelRelease: "6.1.0" });
  assert.is(p.defaultAction, "SCMP_ACT_ERRNO");
  assert.equal(p.architectures, ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]); // x32: killed by the x86_64 filter
  const allowed = new Set(p.syscalls.filter((r) => r.action === "SCMP_ACT_ALLOW" && !r.args).flatMap((r) => r.names));
  for (const name of ["read", "write", "openat", "execve", "socket", "mknod", "chroot", "setuid", "prctl", "seccomp", "ptrace", "_llseek", "socketcall", "mmap2"]) {
    assert.ok(allowed.has(name), `${name} allowed`);
  }
  for (const name of Object.keys(DENIED_SYSCALLS)) assert.not.ok(allowed.has(name), `${name} denied`);
  for (const name of ["mount", "umount2", "pivot_root", "fsopen", "move_mount", "open_tree", "setns", "keyctl", "bpf", "perf_event_open", "userfaultfd",
    "open_by_handle_at", "kexec_load", "init_module", "reboot", "swapon", "settimeofday", "clock_settime", "iopl", "acct", "quotactl", "io_uring_setup"]) {
    assert.ok(name in DENIED_SYSCALLS, `${name} on the denylist`);
  }
  for (const name of ["clone", "clone3", "unshare", "personality"]) assert.not.ok(allowed.has(name), `${name} only conditionally`);
});

test("every denylisted name is a real syscall of the headers (no typo silently allows nothing)", () => {
  const known = new Set(SYSCALL_NAMES);
  for (const name of Object.keys(DENIED_SYSCALLS)) assert.ok(known.has(name), name);
  assert.ok(SYSCALL_NAMES.length > 400);
  assert.equal([...SYSCALL_NAMES], [...SYSCALL_NAMES].sort());
});

test("seccomp: clone and unshare only without namespace flags; clone3 gets ENOSYS; personality by value", () => {
  assert.equal(rules("clone"), [{ names: ["clone"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }] }]);
  // CLONE_NEWUSER (0x10000000) is in both masks; CLONE_NEWTIME (0x80) only in unshare's (clone's low byte is a signal).
  assert.equal(rules("unshare")[0]!.args, [{ index: 0, value: 0x7e020080, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }]);
  assert.ok((0x7e020000 & 0x10000000) !== 0 && (0x7e020000 & 0x11) === 0);
  assert.equal(rules("clone3"), [{ names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: 38 }]);
  const values = rules("personality").map((r) => r.args?.[0]?.value);
  assert.equal(values, [0, 8, 0x20000, 0x20008, 0xffffffff]);
});

test("seccomp: ptrace only from kernel 4.8 on; other architectures name their ABIs", () => {
  assert.is(rules("ptrace", defaultSeccompProfile({ arch: "x64", kernelRelease: "4.7.10" })).length, 0);
  assert.is(rules("process_vm_readv", defaultSeccompProfile({ arch: "x64", kernelRelease: "4.4.0-210-generic" })).length, 0);
  assert.is(rules("ptrace", defaultSeccompProfile({ arch: "x64", kernelRelease: "4.8.0" })).length, 1);
  assert.equal(defaultSeccompProfile({ arch: "arm64" }).architectures, ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]);
});

test("each spec gets its own profile (options may mutate it)", () => {
  const a = buildSpec(id);
  a.linux.seccomp!.syscalls.length = 0;
  assert.ok(buildSpec(id).linux.seccomp!.syscalls.length > 1);
});

test("hostRootCapabilities: every capability of this process's bounding set", () => {
  const status = "Name:\tnode\nCapPrm:\t0000000000000000\nCapBnd:\t000001fffeffffff\nCapAmb:\t0000000000000000\n";
  const caps = hostRootCapabilities(status);
  assert.is(caps.length, ALL_CAPABILITIES.length - 1);
  assert.not.ok(caps.includes("CAP_SYS_RESOURCE"));
  assert.equal(hostRootCapabilities("CapBnd:\t000003ffffffffff\n"), [...ALL_CAPABILITIES]); // unnamed bits skipped
  assert.equal(capabilitiesOfMask(capabilityMask(DEFAULT_CAPABILITIES)).sort(), [...DEFAULT_CAPABILITIES].sort());
});

test("withInsecureRootCapabilities: every capability, no seccomp, no noNewPrivileges; masked paths stay", () => {
  assert.equal(buildSpec(id, withInsecureRootCapabilities()).process.capabilities?.bounding, hostRootCapabilities());
  assert.throws(() => withInsecureRootCapabilities(["CAP_NOPE"]), isCode("INVALID_ARGUMENT"));
  const s = buildSpec(id, withInsecureRootCapabilities(ALL_CAPABILITIES));
  assert.equal(s.process.capabilities?.bounding, [...ALL_CAPABILITIES]);
  assert.equal(s.process.capabilities?.effective, [...ALL_CAPABILITIES]);
  assert.equal(s.process.capabilities?.permitted, [...ALL_CAPABILITIES]);
  assert.is(s.linux.seccomp, undefined);
  assert.is(s.process.noNewPrivileges, false);
  assert.ok(s.linux.maskedPaths!.includes("/proc/kcore"));
  assert.ok(s.linux.readonlyPaths!.includes("/proc/sys"));
  assert.equal(s.linux.sysctl, { "net.ipv4.ping_group_range": "0 2147483647" });
  // withConfinement undoes the lift.
  assert.equal(buildSpec(id, withInsecureRootCapabilities(), withConfinement()), buildSpec(id));
});

test("containerSpec lifts confinement only when asked", () => {
  const base: StartContainerOptions = {
    id: "c1",
    image: { name: "busybox", chainId: "sha256:" + "a".repeat(64), config: { Cmd: ["sh"] } },
    paths: new Paths({ state: "/tmp/s", runtime: "/tmp/r" }),
    runner: new HostProcessRunner(),
  };
  const user = { uid: 0, gid: 0 };
  assert.ok(containerSpec("ns", base, user).linux.seccomp);
  assert.ok(containerSpec("ns", { ...base, insecureRootCapabilities: false }, user).linux.seccomp);
  const lifted = containerSpec("ns", { ...base, insecureRootCapabilities: true }, user);
  assert.is(lifted.linux.seccomp, undefined);
  assert.ok(lifted.process.capabilities?.effective?.includes("CAP_SYS_ADMIN"));
});

test.run();
