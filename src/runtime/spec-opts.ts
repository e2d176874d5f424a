// Small composable options that refine the default OCI spec (containerd's oci/spec_opts.go style). Each says
// whether it replaces or merges, and what must come before it. buildSpec applies them in order to a fresh spec.
import { isAbsolute, posix } from "node:path";
import { InvalidArgumentError } from "../common/errors.js";
import { applyConfinement, applyInsecureRootCapabilities, capabilityMask, hostRootCapabilities } from "./confinement/index.js";
import { DEFAULT_PATH_ENV, defaultSpec, type Spec, type SpecIdentity, type SpecMount, type SpecUser } from "./spec.js";

/** One refinement of a spec; mutates the spec it is given (buildSpec hands each a fresh one). */
export type SpecOpt = (spec: Spec) => void;

/** The part of an OCI image config that shapes a process (the `config` object of the image config JSON). */
export interface ImageProcessConfig {
  User?: string;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
}

/** Where static helpers are bind-mounted: a directory in the container's /dev tmpfs, never in its rootfs snapshot. */
export const HELPER_DIR = "/dev/.svcd";
/** The init (tini-static) as the container sees it. */
export const INIT_TARGET = `${HELPER_DIR}/init`;
/** The static busybox as the container sees it. */
export const BUSYBOX_TARGET = `${HELPER_DIR}/busybox`;
/** Debian's tini-static on the host. */
export const DEFAULT_INIT_SOURCE = "/usr/bin/tini-static";
/** Debian's busybox-static on the host. */
export const DEFAULT_BUSYBOX_SOURCE = "/bin/busybox";

/** A fresh default spec for this container with the options applied in order. */
export function buildSpec(identity: SpecIdentity, ...opts: SpecOpt[]): Spec {
  const spec = defaultSpec(identity);
  for (const opt of opts) opt(spec);
  return spec;
}

/** Several options as one, applied in order. */
export function compose(...opts: SpecOpt[]): SpecOpt {
  return (spec) => {
    for (const opt of opts) opt(spec);
  };
}

function requireAbsolute(path: string, what: string): void {
  if (typeof path !== "string" || !isAbsolute(path) || path.includes("\0")) {
    throw new InvalidArgumentError(`${what} must be an absolute path, got ${JSON.stringify(path)}`);
  }
}

/** Replaces env, args and cwd from the image config: Env (or the default PATH), Entrypoint + Cmd, WorkingDir or "/". */
export function withImageConfig(config: ImageProcessConfig): SpecOpt {
  return (spec) => {
    spec.process.env = config.Env && config.Env.length > 0 ? [...config.Env] : [DEFAULT_PATH_ENV];
    spec.process.args = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
    spec.process.cwd = config.WorkingDir || "/";
  };
}

/** Replaces the process arguments. Put withInit after it. */
export function withArgs(args: readonly string[]): SpecOpt {
  if (!Array.isArray(args) || args.some((a) => typeof a !== "string" || a.includes("\0"))) {
    throw new InvalidArgumentError("process arguments must be strings without NUL bytes");
  }
  return (spec) => {
    spec.process.args = [...args];
  };
}

function envKey(entry: string): string {
  const eq = entry.indexOf("=");
  return eq < 0 ? entry : entry.slice(0, eq);
}

/**
 * Merges variables by name: a set value replaces the variable in place (or appends it), `undefined` removes it.
 * Accepts `{ NAME: value }` or `["NAME=value"]`.
 */
export function withEnv(env: Readonly<Record<string, string | undefined>> | readonly string[]): SpecOpt {
  const entries: [string, string | undefined][] = Array.isArray(env)
    ? (env as readonly string[]).map((e) => {
        const eq = e.indexOf("=");
        if (eq < 0) throw new InvalidArgumentError(`environment entry ${JSON.stringify(e)} has no "="`);
        return [e.slice(0, eq), e.slice(eq + 1)];
      })
    : Object.entries(env as Record<string, string | undefined>);
  for (const [key, value] of entries) {
    if (!key || key.includes("=") || key.includes("\0") || (value !== undefined && (typeof value !== "string" || value.includes("\0")))) {
      throw new InvalidArgumentError(`invalid environment variable ${JSON.stringify(key)}`);
    }
  }
  return (spec) => {
    let out = [...spec.process.env];
    for (const [key, value] of entries) {
      const index = out.findIndex((e) => envKey(e) === key);
      if (value === undefined) out = out.filter((e) => envKey(e) !== key);
      else if (index >= 0) out[index] = `${key}=${value}`;
      else out.push(`${key}=${value}`);
    }
    spec.process.env = out;
  };
}

/** Replaces the working directory (absolute). */
export function withCwd(cwd: string): SpecOpt {
  requireAbsolute(cwd, "working directory");
  return (spec) => {
    spec.process.cwd = posix.normalize(cwd);
  };
}

/** Replaces the process user with numeric ids (resolve names first: user.ts). */
export function withUser(user: SpecUser): SpecOpt {
  const valid = (n: unknown) => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 0xffffffff;
  if (!valid(user.uid) || !valid(user.gid) || !(user.additionalGids ?? []).every(valid)) {
    throw new InvalidArgumentError(`invalid user ids ${JSON.stringify(user)}`);
  }
  return (spec) => {
    spec.process.user = { uid: user.uid, gid: user.gid, ...(user.additionalGids?.length ? { additionalGids: [...user.additionalGids] } : {}) };
  };
}

/**
 * Merges mounts by destination: a mount whose destination is already mounted replaces that entry in place (keeping
 * the order runc mounts them in); others are appended in the order given.
 */
export function withMounts(mounts: readonly SpecMount[]): SpecOpt {
  for (const m of mounts) {
    requireAbsolute(m.destination, "mount destination");
    if (m.type === "bind" || m.options?.includes("bind") || m.options?.includes("rbind")) requireAbsolute(m.source ?? "", "bind mount source");
  }
  return (spec) => {
    for (const m of mounts) {
      const mount: SpecMount = { ...m, destination: posix.normalize(m.destination), ...(m.options ? { options: [...m.options] } : {}) };
      const index = spec.mounts.findIndex((x) => x.destination === mount.destination);
      if (index >= 0) spec.mounts[index] = mount;
      else spec.mounts.push(mount);
    }
  };
}

/** A host file or directory bind-mounted at `destination` (read-only unless `readOnly: false`). */
export function bindMount(source: string, destination: string, opts: { readOnly?: boolean } = {}): SpecMount {
  return { destination, type: "bind", source, options: ["rbind", "rprivate", opts.readOnly === false ? "rw" : "ro"] };
}

/** Replaces the network namespace: join the one at `path` (a netns file), or without a path get a new, empty one. */
export function withNetworkNamespace(path?: string): SpecOpt {
  if (path !== undefined) requireAbsolute(path, "network namespace path");
  return (spec) => {
    const others = spec.linux.namespaces.filter((ns) => ns.type !== "network");
    spec.linux.namespaces = [...others, path === undefined ? { type: "network" } : { type: "network", path }];
  };
}

// Read-only: a container writing to them would fill the host's /run (memory); the engine rewrites them from its side.
const ENGINE_FILE_OPTIONS = ["rbind", "rprivate", "ro", "nosuid", "nodev", "noexec"];

/** Bind-mounts a per-container hosts file (rewritten in place by the engine) read-only at /etc/hosts; merges like withMounts. */
export function withHostsFile(path: string): SpecOpt {
  requireAbsolute(path, "hosts file");
  return withMounts([{ destination: "/etc/hosts", type: "bind", source: path, options: [...ENGINE_FILE_OPTIONS] }]);
}

/** Bind-mounts a per-container resolv.conf read-only at /etc/resolv.conf; merges like withMounts. */
export function withResolvConf(path: string): SpecOpt {
  requireAbsolute(path, "resolv.conf");
  return withMounts([{ destination: "/etc/resolv.conf", type: "bind", source: path, options: [...ENGINE_FILE_OPTIONS] }]);
}

const HOSTNAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Replaces the UTS hostname (a DNS name; the spec's uts namespace is on by default). */
export function withHostname(name: string): SpecOpt {
  if (typeof name !== "string" || name.length > 253 || !HOSTNAME.test(name)) {
    throw new InvalidArgumentError(`invalid hostname ${JSON.stringify(name)}`);
  }
  return (spec) => {
    spec.hostname = name;
  };
}

/** Replaces the cgroup path (containerd's default is `/<namespace>/<id>`). */
export function withCgroupsPath(path: string): SpecOpt {
  requireAbsolute(path, "cgroups path");
  return (spec) => {
    spec.linux.cgroupsPath = path;
  };
}

/**
 * Rootless containers: no cgroupsPath and no linux.resources (a rootless runc on a cgroup v1 host may not touch
 * cgroups), and the ping group range narrowed to the ids the user namespace maps (0 and the sub-gids, at least
 * MIN_SUBID_COUNT of them): the kernel refuses a range naming an unmapped gid.
 */
export function withRootless(): SpecOpt {
  return (spec) => {
    delete spec.linux.cgroupsPath;
    delete spec.linux.resources;
    if (spec.linux.sysctl?.["net.ipv4.ping_group_range"] !== undefined) spec.linux.sysctl["net.ipv4.ping_group_range"] = ROOTLESS_PING_GROUP_RANGE;
  };
}

/** Every gid a rootless engine's user namespace is sure to map (0 → the user, 1…65535 → sub-gids). */
export const ROOTLESS_PING_GROUP_RANGE = "0 65535";

/**
 * Bind-mounts a static host binary read-only at `target` under HELPER_DIR. The target lies in the /dev tmpfs (which
 * must be mounted earlier in the list, as the default spec does), so runc creates the mount point there and the
 * container's rootfs snapshot stays untouched. Merges like withMounts.
 */
export function withStaticHelper(source: string, target: string): SpecOpt {
  requireAbsolute(source, "helper source");
  if (!target.startsWith(`${HELPER_DIR}/`)) throw new InvalidArgumentError(`helper target must lie under ${HELPER_DIR}`);
  const mount: SpecMount = { destination: target, type: "bind", source, options: ["rbind", "rprivate", "ro", "nosuid", "nodev"] };
  return (spec) => {
    const dev = spec.mounts.findIndex((m) => m.destination === "/dev" && m.type === "tmpfs");
    if (dev < 0) throw new InvalidArgumentError("static helpers need the /dev tmpfs mount in the spec");
    withMounts([mount])(spec);
  };
}

/**
 * Runs the process under an init (Debian's tini-static) as PID 1: `[INIT_TARGET, "--", ...args]`, so SIGTERM
 * reaches a process that would ignore it as PID 1 and zombies are reaped. Apply after every option that sets args.
 */
export function withInit(source: string = DEFAULT_INIT_SOURCE): SpecOpt {
  const helper = withStaticHelper(source, INIT_TARGET);
  return (spec) => {
    helper(spec);
    if (spec.process.args[0] !== INIT_TARGET) spec.process.args = [INIT_TARGET, "--", ...spec.process.args];
  };
}

/**
 * Replaces capabilities, seccomp, noNewPrivileges and the masked/read-only paths with the confinement defaults
 * (DESIGN.md §3); merges the ping sysctl. The default spec is already confined: this undoes an earlier lift.
 */
export function withConfinement(): SpecOpt {
  return applyConfinement;
}

/**
 * `insecureRootCapabilities`: replaces the capability sets with the full root set (default: every capability in
 * this machine's bounding set), removes the seccomp filter and turns noNewPrivileges off; masked and read-only
 * paths stay. Apply after withConfinement if both are given.
 */
export function withInsecureRootCapabilities(caps?: readonly string[]): SpecOpt {
  if (caps) capabilityMask(caps); // throws on an unknown name
  const set = caps ? [...caps] : hostRootCapabilities();
  return (spec) => applyInsecureRootCapabilities(spec, set);
}
