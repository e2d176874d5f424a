// The OCI runtime spec (the subset svcd writes) and the default spec: containerd's default Unix spec
// (populateDefaultUnixSpec in containerd 1.6 oci/spec.go) under svcd's confinement defaults (confinement/), as plain
// data. Options in spec-opts.ts refine it; buildSpec composes them.
import { applyConfinement } from "./confinement/index.js";

/** One mount of the runtime spec. */
export interface SpecMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

/** The process user: numeric ids only; names are resolved before they reach the spec (user.ts). */
export interface SpecUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
  umask?: number;
}

/** A POSIX resource limit (RLIMIT_NOFILE by default). */
export interface SpecRlimit {
  type: string;
  hard: number;
  soft: number;
}

/** Capability sets; containerd 1.6 leaves inheritable and ambient empty. */
export interface SpecCapabilities {
  bounding?: string[];
  effective?: string[];
  permitted?: string[];
  inheritable?: string[];
  ambient?: string[];
}

/** The container's (or an exec's) process. */
export interface SpecProcess {
  terminal?: boolean;
  user: SpecUser;
  args: string[];
  env: string[];
  cwd: string;
  capabilities?: SpecCapabilities;
  rlimits?: SpecRlimit[];
  noNewPrivileges?: boolean;
}

/** A namespace to create, or with `path` to join. */
export interface SpecNamespace {
  type: "pid" | "network" | "mount" | "ipc" | "uts" | "user" | "cgroup";
  path?: string;
}

/** A device cgroup rule. */
export interface SpecDeviceCgroup {
  allow: boolean;
  type?: string;
  major?: number;
  minor?: number;
  access?: string;
}

/** A seccomp condition on one syscall argument (`value` is the mask for SCMP_CMP_MASKED_EQ). */
export interface SpecSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: "SCMP_CMP_EQ" | "SCMP_CMP_NE" | "SCMP_CMP_MASKED_EQ";
}

/** One seccomp rule: several for the same syscall are alternatives. */
export interface SpecSeccompRule {
  names: string[];
  action: "SCMP_ACT_ALLOW" | "SCMP_ACT_ERRNO";
  /** For SCMP_ACT_ERRNO; runc's default is EPERM. */
  errnoRet?: number;
  args?: SpecSeccompArg[];
}

/** A seccomp filter (runtime-spec 1.0.2; the default action's errno is EPERM). */
export interface SpecSeccomp {
  defaultAction: "SCMP_ACT_ERRNO" | "SCMP_ACT_ALLOW";
  architectures: string[];
  syscalls: SpecSeccompRule[];
}

/** Linux-specific settings; unknown keys pass through to runc. */
export interface SpecLinux {
  namespaces: SpecNamespace[];
  cgroupsPath?: string;
  resources?: { devices?: SpecDeviceCgroup[]; [key: string]: unknown };
  maskedPaths?: string[];
  readonlyPaths?: string[];
  seccomp?: SpecSeccomp;
  /** Namespaced sysctls runc writes before the container starts. */
  sysctl?: Record<string, string>;
  [key: string]: unknown;
}

/** The OCI runtime spec as svcd writes it (JSON, runtime-spec 1.0.2). */
export interface Spec {
  ociVersion: string;
  root: { path: string; readonly?: boolean };
  process: SpecProcess;
  hostname?: string;
  mounts: SpecMount[];
  linux: SpecLinux;
  annotations?: Record<string, string>;
}

/** PATH for images whose config sets no environment (containerd's defaultUnixEnv). */
export const DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export { DEFAULT_CAPABILITIES, DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from "./confinement/index.js";

/** containerd's default mounts (oci/mounts.go). /dev comes before anything mounted beneath it. */
export function defaultMounts(): SpecMount[] {
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    { destination: "/run", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
  ];
}

/** Where the container lives in containerd: its namespace and id decide the default cgroup. */
export interface SpecIdentity {
  namespace: string;
  id: string;
}

/**
 * A fresh default spec, as containerd's populateDefaultUnixSpec builds it: root, cwd "/", no args, PATH only,
 * RLIMIT_NOFILE 1024, pid/ipc/uts/mount/network namespaces, a deny-all device cgroup (runc adds its default
 * devices) and cgroupsPath `/<namespace>/<id>`; then confined (applyConfinement): podman's capabilities, the seccomp
 * profile, noNewPrivileges, masked and read-only paths, the ping sysctl.
 */
export function defaultSpec(identity: SpecIdentity): Spec {
  const spec: Spec = {
    ociVersion: "1.0.2-dev",
    root: { path: "rootfs" },
    process: {
      user: { uid: 0, gid: 0 },
      args: [],
      env: [DEFAULT_PATH_ENV],
      cwd: "/",
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
    },
    mounts: defaultMounts(),
    linux: {
      namespaces: [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "network" }],
      cgroupsPath: `/${identity.namespace}/${identity.id}`,
      resources: { devices: [{ allow: false, access: "rwm" }] },
    },
  };
  applyConfinement(spec);
  return spec;
}
