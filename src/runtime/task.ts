// Handles for processes running in containerd: the container's init task (RunningTask) and processes exec'd into
// it (ExecProcess). Both start their Wait before Start, so no exit is missed, and both drain their output before
// reporting an exit. `wait({ signal })` on abort kills the process (SIGKILL) and throws CancelledError.
import { randomBytes } from "node:crypto";
import { constants as osConstants } from "node:os";
import { TYPE_URL, jsonAny, retryWhileUnavailable } from "../containerd/index.js";
import { CancelledError, InvalidArgumentError, hasCode, throwIfAborted } from "../common/errors.js";
import type { Paths } from "../common/paths.js";
import type { ProcessRunner } from "../common/process-runner.js";
import { debug } from "../common/debug.js";
import type { RuntimeClient } from "./containerd-port.js";
import { ProcessIO, type OutputOptions } from "./process-io.js";
import type { Spec, SpecProcess, SpecUser } from "./spec.js";
import { buildSpec, withCwd, withEnv } from "./spec-opts.js";
import { waitForExit } from "./task-wait.js";

const log = debug("runtime");

/** How a process ended. */
export interface ProcessExit {
  exitCode: number;
}

/** A finished process with its output (each stream's tail, capped by `maxOutputBytes`). */
export interface ProcessResult extends ProcessExit {
  stdout: Buffer;
  stderr: Buffer;
  /** True when the front of stdout or stderr was dropped to stay under the cap. */
  truncated: boolean;
}

/** A signal by name ("SIGTERM") or number. */
export type SignalLike = NodeJS.Signals | number;

/** The numeric signal for a name or number; InvalidArgumentError for unknown ones. */
export function signalNumber(signal: SignalLike): number {
  const n = typeof signal === "number" ? signal : (osConstants.signals as Record<string, number | undefined>)[signal];
  if (n === undefined || !Number.isInteger(n) || n <= 0 || n > 64) throw new InvalidArgumentError(`unknown signal ${String(signal)}`);
  return n;
}

const isNotFound = (err: unknown): boolean => hasCode(err, "NOT_FOUND");

/** Resolves with the value, or with `undefined` once the signal aborts (never rejects because of the signal). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<{ value: T } | undefined> {
  if (!signal) return promise.then((value) => ({ value }));
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve({ value });
      },
      (err) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

/** What both kinds of process share: an exit being waited for, IO being drained, kill. */
abstract class ProcessHandle {
  readonly containerId: string;
  readonly pid: number;
  protected readonly client: RuntimeClient;
  protected readonly io: ProcessIO;
  protected readonly exited: Promise<ProcessExit>;
  protected readonly execId: string | undefined;

  protected constructor(client: RuntimeClient, containerId: string, execId: string | undefined, pid: number, io: ProcessIO, exited: Promise<ProcessExit>) {
    this.client = client;
    this.containerId = containerId;
    this.execId = execId;
    this.pid = pid;
    this.io = io;
    this.exited = exited;
    exited.catch(() => {}); // observed by wait(); never an unhandled rejection
  }

  /**
   * Resolves when the process has exited and its stdout/stderr are drained. On abort: SIGKILL (to every process
   * of a task), wait for the exit, throw CancelledError. The handle still needs `delete()`.
   */
  async wait(opts: { signal?: AbortSignal } = {}): Promise<ProcessExit> {
    const exit = await untilAborted(this.exited, opts.signal);
    if (!exit) return this.cancel(opts.signal);
    const drained = await untilAborted(this.io.done(), opts.signal);
    if (!drained) return this.cancel(opts.signal);
    return exit.value;
  }

  private async cancel(signal: AbortSignal | undefined): Promise<never> {
    log("%s%s: cancelled, killing", this.containerId, this.execId ? `/${this.execId}` : "");
    await this.kill("SIGKILL", { all: this.execId === undefined }).catch((err) => log("kill after abort: %s", err));
    await this.exited.catch(() => undefined);
    throw new CancelledError(`process in ${this.containerId} cancelled`, { cause: signal?.reason });
  }

  /**
   * Sends a signal; a process that already exited is not an error. `all`: every process of the task. While
   * containerd restarts the signal is retried (bounded), since the process runs on under its shim.
   */
  async kill(signal: SignalLike = "SIGTERM", opts: { all?: boolean } = {}): Promise<void> {
    const req = { container_id: this.containerId, signal: signalNumber(signal), all: opts.all ?? false };
    try {
      await retryWhileUnavailable(() => this.client.tasks.kill(this.execId ? { ...req, exec_id: this.execId } : req), { what: `kill ${this.containerId}` });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** The output collected so far (each stream's tail). */
  output(): { stdout: Buffer; stderr: Buffer; truncated: boolean } {
    return { stdout: this.io.stdout.contents(), stderr: this.io.stderr.contents(), truncated: this.io.stdout.truncated || this.io.stderr.truncated };
  }
}

/** Options for a process exec'd into a running task; unset fields inherit the task's process. */
export interface ExecOptions extends OutputOptions {
  /** Merged into the task's environment by name. */
  env?: Readonly<Record<string, string | undefined>> | readonly string[];
  cwd?: string;
  user?: SpecUser;
  stdin?: string | Buffer;
  signal?: AbortSignal;
}

/** A process exec'd into a running task. `delete()` it when done (idempotent). */
export class ExecProcess extends ProcessHandle {
  readonly id: string;
  private deleted: Promise<void> | undefined;

  /** @internal use RunningTask.exec */
  constructor(client: RuntimeClient, containerId: string, execId: string, pid: number, io: ProcessIO, exited: Promise<ProcessExit>) {
    super(client, containerId, execId, pid, io, exited);
    this.id = execId;
  }

  /** Kills the process if still running, removes it from containerd and removes its FIFOs. */
  delete(): Promise<void> {
    this.deleted ??= (async () => {
      try {
        // Only the exit, not the output: a background child may hold stdout open for ever; closing our ends below
        // is what stops reading (as docker exec, wait() itself does wait for that output).
        await this.kill("SIGKILL");
        await this.exited.catch(() => undefined);
        const req = { container_id: this.containerId, exec_id: this.id };
        await retryWhileUnavailable(() => this.client.tasks.deleteProcess(req), { what: `delete ${this.containerId}/${this.id}` }).catch((err) => {
          if (!isNotFound(err)) throw err;
        });
      } finally {
        await this.io.close();
      }
    })();
    return this.deleted;
  }
}

/** What a RunningTask needs from the container that owns it. */
export interface TaskContext {
  client: RuntimeClient;
  containerId: string;
  pid: number;
  io: ProcessIO;
  exited: Promise<ProcessExit>;
  /** The container's spec: exec'd processes start from its process. */
  spec: Spec;
  paths: Paths;
  runner: ProcessRunner;
  /** The container's rootfs, an active snapshot until delete() removes it. */
  rootfs: { snapshotter: string; key: string };
  /** Deletes the task, the container, its snapshot and the FIFOs (the container's cleanup). */
  teardown: () => Promise<void>;
}

/** A container's started init task. `delete()` it when done: it removes task, container, snapshot and FIFOs. */
export class RunningTask extends ProcessHandle {
  readonly id: string;
  /**
   * The rootfs snapshot. Once the task has exited (its init gone, and with it every process of its pid namespace)
   * it may be committed (Snapshots.Commit) to keep the filesystem as a build step; delete() removes the rest.
   */
  readonly rootfs: { readonly snapshotter: string; readonly key: string };
  private readonly ctx: TaskContext;
  private readonly execs = new Set<ExecProcess>();

  /** @internal use startContainer */
  constructor(ctx: TaskContext) {
    super(ctx.client, ctx.containerId, undefined, ctx.pid, ctx.io, ctx.exited);
    this.id = ctx.containerId;
    this.rootfs = ctx.rootfs;
    this.ctx = ctx;
  }

  /** Starts `args` inside the running task with its own FIFOs. */
  async exec(args: readonly string[], opts: ExecOptions = {}): Promise<ExecProcess> {
    if (args.length === 0) throw new InvalidArgumentError("exec needs at least one argument");
    throwIfAborted(opts.signal);
    const execId = `exec-${randomBytes(6).toString("hex")}`;
    const process = execProcessSpec(this.ctx.spec, args, opts);
    const io = await ProcessIO.open(this.ctx.runner, this.ctx.paths.fifoDir(`${this.id}.${execId}`), opts);
    const base = { container_id: this.id, exec_id: execId };
    let created = false;
    try {
      await this.client.tasks.exec({ ...base, ...io.paths, terminal: false, spec: jsonAny(TYPE_URL.process, process) });
      created = true;
      const exited = waitForExit(this.client, base);
      exited.catch(() => {});
      const { pid } = await this.client.tasks.start(base);
      void io.writeStdin(() => this.client.tasks.closeIO({ ...base, stdin: true }).then(() => undefined)).catch((err) => log("stdin: %s", err));
      const handle = new ExecProcess(this.client, this.id, execId, pid, io, exited);
      this.execs.add(handle);
      return handle;
    } catch (err) {
      if (created) await this.client.tasks.deleteProcess(base).catch(() => undefined);
      await io.close();
      throw err;
    }
  }

  /** Runs `args` inside the running task to completion; non-zero exits are returned, not thrown. */
  async execRun(args: readonly string[], opts: ExecOptions = {}): Promise<ProcessResult> {
    const proc = await this.exec(args, opts);
    try {
      const { exitCode } = await proc.wait({ signal: opts.signal });
      return { exitCode, ...proc.output() };
    } finally {
      await proc.delete();
      this.execs.delete(proc);
    }
  }

  /**
   * Stops whatever still runs (SIGKILL), then deletes every exec, the task, the container, its snapshot (unless it
   * was committed) and the FIFOs. Idempotent; safe after any failure.
   */
  async delete(): Promise<void> {
    for (const e of this.execs) await e.delete().catch((err) => log("exec delete: %s", err));
    this.execs.clear();
    await this.ctx.teardown();
  }
}

/** The Process JSON for an exec: the task's process with new args and the overrides applied. */
export function execProcessSpec(base: Spec, args: readonly string[], opts: ExecOptions): SpecProcess {
  const spec = buildSpec({ namespace: "exec", id: "exec" });
  spec.process = structuredClone(base.process);
  spec.process.args = [...args];
  spec.process.terminal = false;
  if (opts.env) withEnv(opts.env)(spec);
  if (opts.cwd) withCwd(opts.cwd)(spec);
  if (opts.user) spec.process.user = { ...opts.user };
  return spec.process;
}
