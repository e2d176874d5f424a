// The OCI runtime spec (the subset svcd writes) and containerd's default Unix spec (populateDefaultUnixSpec in
// containerd 1.6 oci/spec.go), as plain data. Options in spec-opts.ts refine it; buildSpec composes them.

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

/** Linux-specific settings; unknown keys pass through to runc. */
export interface SpecLinux {
  namespaces: SpecNamespace[];
  cgroupsPath?: string;
  resources?: { devices?: SpecDeviceCgroup[]; [key: string]: unknown };
  maskedPaths?: string[];
  readonlyPaths?: string[];
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

/** containerd's default capability set (oci/spec.go defaultUnixCaps). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

/** Kernel paths hidden from the container. */
export const DEFAULT_MASKED_PATHS: readonly string[] = [
  "/proc/acpi",
  "/proc/asound",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/sys/firmware",
  "/proc/scsi",
];

/** Kernel paths the container may read but not write. */
export const DEFAULT_READONLY_PATHS: readonly string[] = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

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
 * noNewPrivileges, RLIMIT_NOFILE 1024, the default capabilities, masked and read-only paths, pid/ipc/uts/mount/network
 * namespaces, a deny-all device cgroup (runc adds its default devices) and cgroupsPath `/<namespace>/<id>`.
 */
export function defaultSpec(identity: SpecIdentity): Spec {
  const caps = [...DEFAULT_CAPABILITIES];
  return {
    ociVersion: "1.0.2-dev",
    root: { path: "rootfs" },
    process: {
      user: { uid: 0, gid: 0 },
      args: [],
      env: [DEFAULT_PATH_ENV],
      cwd: "/",
      capabilities: { bounding: [...caps], permitted: [...caps], effective: [...caps] },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    mounts: defaultMounts(),
    linux: {
      namespaces: [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "network" }],
      cgroupsPath: `/${identity.namespace}/${identity.id}`,
      resources: { devices: [{ allow: false, access: "rwm" }] },
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
    },
  };
}
