// Containers as svcd runs them: a rootfs snapshot prepared from the image's chainId, a container record carrying
// the OCI spec and ownership labels, one task with FIFO stdio. `startContainer` returns a RunningTask (services);
// `runContainer` is start + wait + delete (build steps, one-shot execs). Whatever was created is removed on every
// path — errors, aborts, non-zero exits — in the order task → container → snapshot → FIFOs.
import { TYPE_URL, isUnavailable, jsonAny } from "../containerd/index.js";
import { debug } from "../common/debug.js";
import { InternalError, InvalidArgumentError, SvcdError, throwIfAborted, ignoreNotFound } from "../common/errors.js";
import { OWNER } from "../common/labels.js";
import { currentOwner, ownerLabels, type Owner } from "../common/owner.js";
import type { Paths } from "../common/paths.js";
import type { ProcessRunner } from "../common/process-runner.js";
import { CleanupStack } from "./cleanup-stack.js";
import type { RuntimeClient } from "./containerd-port.js";
import { ProcessIO, type OutputOptions } from "./process-io.js";
import type { Spec, SpecMount, SpecUser } from "./spec.js";
import {
  buildSpec,
  withArgs,
  withCwd,
  withEnv,
  withHostname,
  withHostsFile,
  withImageConfig,
  withInit,
  withInsecureRootCapabilities,
  withMounts,
  withNetworkNamespace,
  withResolvConf,
  withRootless,
  withUser,
  type ImageProcessConfig,
  type SpecOpt,
} from "./spec-opts.js";
import { RunningTask, type ProcessExit, type ProcessResult } from "./task.js";
import { waitForExit } from "./task-wait.js";
import { resolveImageUser } from "./snapshot-file.js";

const log = debug("runtime");

/** The shim every svcd container runs under. */
export const RUNC_RUNTIME = "io.containerd.runc.v2";
/** The snapshotter used when the image does not name one. */
export const DEFAULT_SNAPSHOTTER = "overlayfs";
/** `svcd.io/kind` value on containers and snapshots this module creates. */
export const KIND_CONTAINER = "container";

const CONTAINER_ID = /^[A-Za-z0-9]+([._-][A-Za-z0-9]+)*$/;

/** The image a container starts from: its unpacked top snapshot and its config. */
export interface ContainerImage {
  /** Image name, recorded on the container record. */
  name: string;
  /** The committed snapshot (top layer chainId) the rootfs is prepared from. */
  chainId: string;
  snapshotter?: string;
  /** The image config's `config` object (Env, Entrypoint, Cmd, WorkingDir, User). */
  config?: ImageProcessConfig;
}

/** Everything a container start needs. Unset fields fall back to the image config, then containerd's defaults. */
export interface StartContainerOptions extends OutputOptions {
  /** Container id (also the task id, the snapshot key and the FIFO dir name): `[A-Za-z0-9]+([._-][A-Za-z0-9]+)*`, ≤ 76. */
  id: string;
  image: ContainerImage;
  /** Replaces Entrypoint + Cmd. */
  args?: readonly string[];
  /** Merged into the image's Env by name (`undefined` removes). */
  env?: Readonly<Record<string, string | undefined>> | readonly string[];
  cwd?: string;
  /** "name", "uid", "uid:gid", "user:group" (resolved from the image's /etc/passwd) or numeric ids; default image User. */
  user?: string | SpecUser;
  /** Written to stdin, which is then closed. Absent: no stdin. */
  stdin?: string | Buffer;
  /** Extra mounts, merged by destination. */
  mounts?: readonly SpecMount[];
  /** Extra labels on the container record (ownership labels are added). */
  labels?: Readonly<Record<string, string>>;
  /** Join this network namespace (a netns file); absent: a new, empty one. */
  networkNamespace?: string;
  hostsFile?: string;
  resolvConf?: string;
  hostname?: string;
  /** Drop cgroupsPath and linux.resources. Default: when the runner works in a user namespace (rootless). */
  rootless?: boolean;
  /** The full root capability set, no seccomp filter, no noNewPrivileges (default: the confinement defaults). */
  insecureRootCapabilities?: boolean;
  /** The static init on the host (default Debian's tini-static); `false`: no init (the process is PID 1). */
  init?: string | false;
  /** Further spec options, applied after the ones above and before the init. */
  specOpts?: readonly SpecOpt[];
  /** Recorded in ownership labels; default: this process, session "none". */
  owner?: Owner;
  /**
   * Awaited once the task is created and before its process starts: work that only has to be done by then (the
   * network port's admission) overlaps the task's creation. A throw fails the start; everything made is removed.
   */
  beforeStart?: () => Promise<void>;
  /**
   * Awaited once the snapshot and container record exist and before the task is created: what the task needs to
   * exist by then (the files its spec names, such as the netns) is made meanwhile. A throw fails the start.
   */
  beforeCreate?: () => Promise<void>;
  paths: Paths;
  runner: ProcessRunner;
  signal?: AbortSignal;
}

function checkOptions(opts: StartContainerOptions): void {
  if (typeof opts.id !== "string" || opts.id.length > 76 || !CONTAINER_ID.test(opts.id)) {
    throw new InvalidArgumentError(`invalid container id ${JSON.stringify(opts.id)}`);
  }
  if (!opts.image || typeof opts.image.chainId !== "string" || !/^sha256:[0-9a-f]{64}$/.test(opts.image.chainId)) {
    throw new InvalidArgumentError(`image ${JSON.stringify(opts.image?.name)} needs a chainId (sha256:<hex>)`);
  }
  for (const [k, v] of Object.entries(opts.labels ?? {})) {
    if (!k || typeof v !== "string" || Buffer.byteLength(k) + Buffer.byteLength(v) > 4096) throw new InvalidArgumentError(`invalid label ${JSON.stringify(k)}`);
  }
}

/** The spec for these options (the user already resolved to ids). */
export function containerSpec(namespace: string, opts: StartContainerOptions, user: SpecUser): Spec {
  const o: SpecOpt[] = [withImageConfig(opts.image.config ?? {})];
  if (opts.args) o.push(withArgs(opts.args));
  if (opts.env) o.push(withEnv(opts.env));
  if (opts.cwd) o.push(withCwd(opts.cwd));
  o.push(withUser(user));
  o.push(withNetworkNamespace(opts.networkNamespace));
  if (opts.hostsFile) o.push(withHostsFile(opts.hostsFile));
  if (opts.resolvConf) o.push(withResolvConf(opts.resolvConf));
  if (opts.hostname) o.push(withHostname(opts.hostname));
  if (opts.mounts?.length) o.push(withMounts(opts.mounts));
  // A rootless runc may not touch cgroups on a cgroup v1 host, and on v2 only in a delegated subtree that svcd does
  // not set up (no systemd user manager here): rootless containers get no cgroup and no limits either way.
  if (opts.rootless ?? opts.runner.userNamespace === true) o.push(withRootless());
  if (opts.insecureRootCapabilities === true) o.push(withInsecureRootCapabilities());
  o.push(...(opts.specOpts ?? []));
  if (opts.init !== false) o.push(withInit(opts.init));
  const spec = buildSpec({ namespace, id: opts.id }, ...o);
  if (spec.process.args.length === 0 || (opts.init !== false && spec.process.args.length <= 2)) {
    throw new InvalidArgumentError(`container ${opts.id}: no command (the image has no Entrypoint/Cmd and no args were given)`);
  }
  return spec;
}

/** Creates the snapshot, container and task, starts it, and returns its handle. On any failure nothing remains. */
export async function startContainer(client: RuntimeClient, opts: StartContainerOptions): Promise<RunningTask> {
  checkOptions(opts);
  throwIfAborted(opts.signal);
  const { id, runner, paths, signal } = opts;
  const snapshotter = opts.image.snapshotter || DEFAULT_SNAPSHOTTER;
  const userValue = opts.user ?? opts.image.config?.User ?? "";
  const user =
    typeof userValue === "string"
      ? await resolveImageUser(client, { user: userValue, snapshotter, parent: opts.image.chainId, paths, runner, signal, owner: opts.owner })
      : userValue;
  const spec = containerSpec(client.namespace, opts, user);
  const labels = { ...ownerLabels(opts.owner ?? currentOwner("none")), [OWNER.kind]: KIND_CONTAINER };
  const cleanup = new CleanupStack();
  try {
    throwIfAborted(signal);
    // The FIFOs (a mkfifo process) while the container record and its snapshot are made. The record comes first: it
    // references the snapshot key, which keeps the snapshot from containerd's GC from the moment it exists, so no
    // lease is needed between the two.
    const [fifos, record] = await Promise.allSettled([
      ProcessIO.open(runner, paths.fifoDir(id), { ...opts, signal }).then((io) => {
        cleanup.push("fifos", () => io.close());
        return io;
      }),
      (async () => {
        await client.containers.create({
          container: {
            id,
            labels: { [OWNER.kind]: KIND_CONTAINER, ...opts.labels, ...ownerLabels(opts.owner ?? currentOwner("none")) },
            image: opts.image.name,
            runtime: { name: RUNC_RUNTIME },
            spec: jsonAny(TYPE_URL.spec, spec),
            snapshotter,
            snapshot_key: id,
          },
        });
        cleanup.push("container", () => ignoreNotFound(client.containers.delete({ id })), { retry: true });
        const { mounts } = await client.snapshots.prepare({ snapshotter, key: id, parent: opts.image.chainId, labels });
        cleanup.push("snapshot", () => ignoreNotFound(client.snapshots.remove({ snapshotter, key: id })), { retry: true });
        return mounts;
      })(),
    ]);
    if (fifos.status === "rejected") throw fifos.reason;
    if (record.status === "rejected") throw record.reason;
    const io = fifos.value;
    const rootfs = record.value;
    if (opts.beforeCreate) await opts.beforeCreate();
    throwIfAborted(signal);

    const created = await client.tasks.create({ container_id: id, rootfs, ...io.paths, terminal: false });
    log("%s: task created (pid %d)", id, created.pid);
    let hasExited = false;
    // Re-established across a containerd restart: the shim keeps the task running and holds its exit status.
    const waiting = waitForExit(client, { container_id: id }).then((r) => {
      hasExited = true;
      return r;
    });
    waiting.catch(() => {});
    cleanup.push("task", () => deleteTask(client, id, hasExited ? undefined : waiting), { retry: true });
    void io.writeStdin(() => client.tasks.closeIO({ container_id: id, stdin: true }).then(() => undefined)).catch((err) => log("%s: stdin: %s", id, err));
    if (opts.beforeStart) await opts.beforeStart();
    throwIfAborted(signal);

    const { pid } = await client.tasks.start({ container_id: id });
    log("%s: started (pid %d)", id, pid);
    return new RunningTask({
      client,
      containerId: id,
      pid,
      io,
      exited: waiting,
      spec,
      paths,
      runner,
      rootfs: { snapshotter, key: id },
      teardown: async () => {
        const errors = await cleanup.run();
        if (errors.length > 0) {
          // One failure passes through; several are reported together.
          throw errors.length === 1 ? errors[0] : new InternalError(`cleanup of container ${id} failed ${errors.length} times`, { cause: new AggregateError(errors) });
        }
      },
    });
  } catch (err) {
    const errors = await cleanup.run();
    for (const e of errors) log("%s: cleanup after failure: %s", id, e);
    throw err;
  }
}

/** Starts the container, waits for its exit and output, removes everything; non-zero exits are returned. */
export async function runContainer(client: RuntimeClient, opts: StartContainerOptions): Promise<ProcessResult> {
  const task = await startContainer(client, opts);
  let result: ProcessResult;
  try {
    const { exitCode } = await task.wait({ signal: opts.signal });
    result = { exitCode, ...task.output() };
  } catch (err) {
    await task.delete().catch((e) => log("%s: cleanup after failure: %s", opts.id, e));
    throw err;
  }
  await task.delete();
  return result;
}

/** How long teardown waits for a SIGKILLed task to be reported exited before deleting it anyway. */
const KILL_WAIT_MS = 10_000;

/** Deletes a task, first killing it (SIGKILL, all processes) when `running` (its pending exit) is given. */
async function deleteTask(client: RuntimeClient, id: string, running: Promise<ProcessExit> | undefined): Promise<number | undefined> {
  if (running) {
    await client.tasks.kill({ container_id: id, signal: 9, all: true }).catch((err) => {
      if (isUnavailable(err)) throw err; // the cleanup step is retried once containerd answers again
      log("%s: kill: %s", id, err);
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([running.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, KILL_WAIT_MS)))]);
    clearTimeout(timer);
  }
  try {
    const r = await client.tasks.delete({ container_id: id });
    return r.exit_status;
  } catch (err) {
    if (SvcdError.is(err) && err.code === "NOT_FOUND") return undefined;
    throw err;
  }
}
