// One running forward agent: the child process inside the hub netns and its request/response channel. It knows
// nothing about restarts or forwards (forward-agent.ts does); it spawns, waits for `ready`, matches responses to
// requests by id, fails every pending request when the agent exits, and stops it.
//
// The IPC channel is referenced only while requests are pending, so an idle agent never keeps the engine's process
// alive; when that process exits the channel closes and the agent exits too.
import type { ChildProcess } from "node:child_process";
import type { Socket as DgramSocket } from "node:dgram";
import { Server, Socket } from "node:net";
import {
  AlreadyExistsError,
  CancelledError,
  InvalidArgumentError,
  EngineUnavailableError,
  InternalError,
  SvcdError,
  TimeoutError,
  type ErrorCode,
} from "../common/errors.js";
import { debug } from "../common/debug.js";
import type { ProcessRunner } from "../common/process-runner.js";
import { agentEntry } from "./agent-entry.js";
import { parseAgentMessage, type AgentEvent, type AgentRequest, type DatagramMessage, type OkResponse } from "./agent-protocol.js";
import { watchChild } from "./child-watch.js";

const log = debug("forward");

/** How much of the agent's stderr is kept for error messages. */
const STDERR_TAIL_BYTES = 4096;
/** How long a call whose send broke waits for the agent's exit, to quote it, before failing with the send error. */
const DYING_GRACE_MS = 2000;

/** How long the agent may take to answer a request (a probe: its own timeout on top). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** The deadline of one request: a probe waits for its own connect timeout, then for the answer. */
export function requestTimeoutMs(body: { op: string; timeoutMs?: number }, base: number): number {
  return body.op === "probe" && typeof body.timeoutMs === "number" ? base + body.timeoutMs : base;
}

export interface AgentProcessOptions {
  hubNetns: string;
  runner: ProcessRunner;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** How long the agent may take to report ready (default 20 s: tsx compiles the sources on a cold start). */
  readyTimeoutMs?: number;
  /** How long the agent may take to answer a request before it fails with TimeoutError (default 30 s). */
  requestTimeoutMs?: number;
}

/** A request without its id (the channel assigns it). */
export type RequestBody = AgentRequest extends infer R ? (R extends AgentRequest ? Omit<R, "id"> : never) : never;

/** Receives the agent's events (host-service connections and datagrams); the socket comes with `accepted`. */
export type AgentEventSink = (event: AgentEvent, handle: Socket | undefined) => void;

/** A successful response, with the listener that came with it (host-listen with handOff). */
export type Answer = OkResponse & { handle?: Server };

interface Pending {
  resolve(r: Answer): void;
  reject(e: Error): void;
}

/** A started agent process. */
export class AgentProcess {
  /** The agent's own pid, as it reported it. */
  readonly pid: number;
  /** Resolves when the process has exited (expectedly or not). */
  readonly exited: Promise<void>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stopping = false;
  /** Where events go; the owner (ForwardAgent) sets it. Events arriving without one are dropped (sockets destroyed). */
  onEvent: AgentEventSink | undefined;

  private constructor(
    private readonly child: ChildProcess,
    pid: number,
    exited: Promise<void>,
    private readonly stderr: { tail(): string },
    private readonly exitInfo: () => string,
    private readonly requestTimeoutMs: number,
  ) {
    this.pid = pid;
    this.exited = exited;
    // Only pending requests (and stop()) hold the engine's event loop; see the header.
    child.unref();
    (child.stderr as Socket | null)?.unref?.();
    child.on("message", (raw: unknown, handle: unknown) => this.onMessage(raw, handle));
    void exited.then(() => this.failAll());
    this.idle();
  }

  /** Starts an agent in hubNetns and resolves once it reported ready. */
  static spawn(opts: AgentProcessOptions): Promise<AgentProcess> {
    const entry = agentEntry();
    const args = [`--net=${opts.hubNetns}`, "--", process.execPath, ...entry.nodeArgs];
    log("starting agent: nsenter %s", args.join(" "));
    const child = opts.runner.spawn("nsenter", args, { env: opts.env, stdio: ["ignore", "inherit", "pipe", "ipc"] });
    const watch = watchChild(child, STDERR_TAIL_BYTES, (chunk) => {
      if (log.enabled) for (const line of chunk.trimEnd().split("\n")) log("agent stderr: %s", line);
    });
    const { exited } = watch;
    const stderr = { tail: watch.stderrTail };
    return new Promise<AgentProcess>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener("abort", onAbort);
        child.off("message", onReady);
        fn();
      };
      const giveUp = (err: Error) => settle(() => {
        child.kill("SIGKILL");
        reject(err);
      });
      const onAbort = () => giveUp(new CancelledError("starting the forward agent cancelled", { cause: opts.signal?.reason }));
      const timeoutMs = opts.readyTimeoutMs ?? 20_000;
      const timer = setTimeout(() => giveUp(new TimeoutError(`forward agent did not report ready within ${timeoutMs} ms: ${stderr.tail()}`)), timeoutMs);
      const onReady = (raw: unknown) => {
        let msg;
        try {
          msg = parseAgentMessage(raw);
        } catch (err) {
          return giveUp(err as Error);
        }
        if (msg.type !== "ready") return giveUp(new InternalError(`forward agent answered before it was ready: ${JSON.stringify(raw)}`));
        settle(() => {
          log("agent ready: pid %d in %s", msg.pid, opts.hubNetns);
          resolve(new AgentProcess(child, msg.pid, exited, stderr, watch.exitText, opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS));
        });
      };
      child.on("message", onReady);
      child.once("error", (err: NodeJS.ErrnoException) =>
        giveUp(
          err.code === "ENOENT"
            ? new EngineUnavailableError("nsenter is not installed (needed to enter the hub netns): apt-get install util-linux", { cause: err })
            : new EngineUnavailableError(`could not start the forward agent: ${err.message}`, { cause: err }),
        ),
      );
      void exited.then(() =>
        giveUp(new EngineUnavailableError(`forward agent could not start in ${opts.hubNetns} (${watch.exitText()}): ${stderr.tail() || "no output"}`)),
      );
      if (opts.signal?.aborted) onAbort();
      else opts.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** True until the process exits. */
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends a request (with a handle to pass, if any) and resolves with its successful response. */
  request(body: RequestBody, handle?: Server | DgramSocket, signal?: AbortSignal): Promise<Answer> {
    if (!this.alive || !this.child.connected) return Promise.reject(this.gone());
    if (signal?.aborted) return Promise.reject(new CancelledError(`forward agent ${body.op} cancelled`, { cause: signal.reason }));
    const id = this.nextId++;
    const msg = { ...body, id };
    const timeoutMs = requestTimeoutMs(body as { op: string; timeoutMs?: number }, this.requestTimeoutMs);
    return new Promise<Answer>((resolve, reject) => {
      const onAbort = () => done(() => reject(new CancelledError(`forward agent ${body.op} cancelled`, { cause: signal?.reason })));
      // A hung agent must not hold the caller for ever; a late answer is then dropped (no pending entry).
      const timer = setTimeout(
        () => done(() => reject(new TimeoutError(`forward agent ${this.pid} did not answer ${body.op} (request ${id}) within ${timeoutMs} ms`))),
        timeoutMs,
      );
      const done = (fn: () => void) => {
        if (!this.pending.delete(id)) return;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.idle();
        fn();
      };
      this.pending.set(id, { resolve: (r) => done(() => resolve(r)), reject: (e) => done(() => reject(e)) });
      this.busy();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.child.send(msg, handle, {}, (err) => {
        if (!err) return;
        // The channel closed or broke under the send (EPIPE can come before the disconnect is seen): the agent is
        // dying, and failAll rejects this call with how it ended (its exit status or signal) once it has. Should
        // it not exit, or on any other send error, the call fails with the send error.
        const sendError = () => new EngineUnavailableError(`could not send ${body.op} to the forward agent: ${err.message}`, { cause: err });
        if (!this.child.connected || isBrokenChannel(err)) {
          const grace = setTimeout(() => done(() => reject(sendError())), DYING_GRACE_MS);
          return void this.exited.then(() => {
            clearTimeout(grace);
            done(() => reject(this.gone()));
          });
        }
        done(() => reject(sendError()));
      });
    });
  }

  /**
   * Passes a connection accepted on this side of a forward's listener to the agent (no answer expected); with
   * `target`, the agent pipes it there itself (a listener the splice helper serves).
   */
  adopt(forwardId: string, socket: Socket, target?: { ip: string; port: number }): void {
    if (!this.alive || !this.child.connected) return void socket.destroy();
    const msg = target ? { op: "adopt", forwardId, target: { ip: target.ip, port: target.port } } : { op: "adopt", forwardId };
    this.child.send(msg, socket, {}, (err) => err && socket.destroy());
  }

  /** Sends a datagram of a UDP forward to the agent (no answer); `done` runs once it left or could not be sent. */
  sendDatagram(msg: DatagramMessage, done: () => void): void {
    if (!this.alive || !this.child.connected) return done();
    this.child.send(msg, undefined, {}, () => done());
  }

  /** Closes the channel (the agent exits on its own), SIGKILL after graceMs; resolves once it has exited. */
  async stop(graceMs = 2000): Promise<void> {
    this.stopping = true;
    this.child.ref();
    if (this.child.connected) this.child.disconnect();
    if (!this.alive) return this.exited;
    const timer = setTimeout(() => {
      log("agent %d did not exit within %d ms of disconnect: SIGKILL", this.pid, graceMs);
      this.child.kill("SIGKILL");
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  private onMessage(raw: unknown, handle: unknown): void {
    let msg;
    try {
      msg = parseAgentMessage(raw);
    } catch (err) {
      log("agent %d: %s", this.pid, (err as Error).message);
      if (isSocket(handle)) handle.destroy();
      return;
    }
    if (msg.type === "accepted" || msg.type === "datagram") {
      const socket = msg.type === "accepted" && isSocket(handle) ? handle : undefined;
      if (this.onEvent) this.onEvent(msg, socket);
      else socket?.destroy();
      return;
    }
    if (msg.type !== "response") return;
    const pending = this.pending.get(msg.id);
    if (!pending) {
      if (handle instanceof Server) handle.close(); // cancelled meanwhile: nobody will serve it
      return;
    }
    if (msg.ok) pending.resolve(handle instanceof Server ? { ...msg, handle } : msg);
    else pending.reject(agentError(msg.error.code, msg.error.message));
  }

  private gone(): SvcdError {
    const how = this.stopping ? "was stopped" : `exited unexpectedly (${this.exitInfo() || "channel closed"})`;
    const tail = this.stderr.tail();
    return new EngineUnavailableError(`forward agent ${this.pid} ${how}` + (tail && !this.stopping ? `: ${tail}` : ""));
  }

  private failAll(): void {
    const err = this.gone();
    if (!this.stopping) log("agent %d: %s", this.pid, err.message);
    for (const p of [...this.pending.values()]) p.reject(err);
  }

  private busy(): void {
    this.child.channel?.ref();
  }

  private idle(): void {
    if (this.pending.size === 0) this.child.channel?.unref();
  }
}

/** True for a net.Socket that came with an IPC message. */
/** A write to the IPC channel failed because the other end is gone (the agent died or is dying). */
function isBrokenChannel(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "EPIPE" || code === "ECONNRESET" || code === "ERR_IPC_CHANNEL_CLOSED";
}

function isSocket(handle: unknown): handle is Socket {
  return handle instanceof Socket;
}

/** The error an agent reported, as the matching svcd error class. */
function agentError(code: ErrorCode, message: string): SvcdError {
  if (code === "INVALID_ARGUMENT") return new InvalidArgumentError(message);
  if (code === "ALREADY_EXISTS") return new AlreadyExistsError(message);
  if (code === "CANCELLED") return new CancelledError(message);
  return new InternalError(`forward agent: ${message}`);
}
