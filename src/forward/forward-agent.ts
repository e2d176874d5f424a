// The engine's handle on its forward agent: a small Node process inside the hub network namespace (DESIGN.md §4,
// "One hop, no relay") that probes service ports for health checks and carries TCP forwards.
//
// Crashes: when the agent dies unexpectedly, every pending call fails with EngineUnavailableError quoting its exit
// status and the tail of its stderr; the next call starts a fresh agent (each call restarts at most once and fails
// clearly if that start fails). Forwards the dead agent carried are gone — their listeners died with it, so their
// ports are free — and their handles' close() resolves at once; the owner (an `up` handle) re-creates them if it
// wants to. close() is final: later calls fail with CancelledError.
//
// Forwarding (issue 5, host → hub): forwardListener(server, target) takes a listening net.Server created in the
// engine's netns and passes it to the agent over IPC (a socket keeps the netns it was created in). The agent accepts
// there and connects each client to target inside the hub netns, piping both ways (backpressure, half-close,
// reset on failure). Ownership of `server` passes to the agent: this process closes its own copy once the agent holds
// it, and connections this side accepts in between are handed over too, so none is lost or served twice.
//
// Not here yet (issue 5): host services (hub → host) — the agent would listen on an address from the reserved
// sub-range added to the hub bridge and send each accepted socket back over IPC to the engine, which dials the host
// target in its own netns and joins the two with joinSockets(); and UDP, relayed per peer with idle expiry.
import { existsSync } from "node:fs";
import { isAbsolute } from "node:path";
import type { Server, Socket } from "node:net";
import { CancelledError, InternalError, InvalidArgumentError, NotFoundError, throwIfAborted } from "../common/errors.js";
import { debug } from "../common/debug.js";
import type { ProcessRunner } from "../common/process-runner.js";
import { AgentProcess } from "./agent-process.js";
import { checkEndpoint, checkTimeout, MAX_PROBE_TIMEOUT_MS } from "./agent-protocol.js";
import { waitForPort, type WaitForPortOptions } from "./port-waiter.js";

const log = debug("forward");

export interface AgentOptions {
  /** The hub network namespace file (e.g. /run/svcd/netns/hub) the agent runs in. */
  hubNetns: string;
  /** Spawns `nsenter … node agent-main`: the host runner as root, the rootless one otherwise. */
  runner: ProcessRunner;
  /** Cancels the (first) start. */
  signal?: AbortSignal;
  /** Environment of the agent (PATH decides which nsenter runs). Default: process.env. */
  env?: NodeJS.ProcessEnv;
}

/** A TCP endpoint inside the hub netns. */
export interface ForwardTarget {
  ip: string;
  port: number;
}

/** A running forward. */
export interface ForwardHandle {
  /** Stops accepting, resets the forward's open connections and frees its port. Idempotent. */
  close(): Promise<void>;
  /** Resolves when the forward has stopped: closed, or its agent died (then the owner may forward anew). */
  readonly closed: Promise<void>;
}

interface ForwardEntry {
  agent: AgentProcess;
  ended(): void;
}

/** The forward agent of one engine process: health probes and TCP forwards from inside the hub netns. */
export class ForwardAgent {
  private current: AgentProcess;
  private restarting: Promise<AgentProcess> | undefined;
  private closing: Promise<void> | undefined;
  private nextForward = 1;
  private readonly forwards = new Map<string, ForwardEntry>();

  private constructor(private readonly opts: AgentOptions, first: AgentProcess) {
    this.current = first;
    this.watch(first);
  }

  /** Starts the agent in opts.hubNetns; resolves when it reports ready over IPC. */
  static async start(opts: AgentOptions): Promise<ForwardAgent> {
    if (typeof opts.hubNetns !== "string" || !isAbsolute(opts.hubNetns)) {
      throw new InvalidArgumentError(`hubNetns must be an absolute path to a network namespace file: ${JSON.stringify(opts.hubNetns)}`);
    }
    if (!existsSync(opts.hubNetns)) throw new NotFoundError(`hub network namespace ${opts.hubNetns} does not exist`);
    throwIfAborted(opts.signal);
    const first = await AgentProcess.spawn({ hubNetns: opts.hubNetns, runner: opts.runner, env: opts.env, signal: opts.signal });
    return new ForwardAgent(opts, first);
  }

  /** The current agent process's pid (a restart changes it). */
  get pid(): number {
    return this.current.pid;
  }

  /** One TCP connect attempt from inside the hub netns (1 s connect timeout); true when it was accepted. */
  async probe(ip: string, port: number, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<boolean> {
    checkEndpoint(ip, port);
    const timeoutMs = opts.timeoutMs ?? 1000;
    checkTimeout(timeoutMs, "probe timeoutMs", MAX_PROBE_TIMEOUT_MS);
    const agent = await this.agent(opts.signal);
    const response = await agent.request({ op: "probe", ip, port, timeoutMs }, undefined, opts.signal);
    if (typeof response.value !== "boolean") throw new InternalError("forward agent answered a probe without a result");
    return response.value;
  }

  /**
   * Retries probe with backoff 100 ms → 1 s until it connects, `timeoutMs` passes (TimeoutError) or `signal`
   * aborts (CancelledError); `shouldStop()` lets the caller end early (the service exited): CancelledError too.
   */
  waitForPort(ip: string, port: number, opts: WaitForPortOptions): Promise<void> {
    return waitForPort((i, p, o) => this.probe(i, p, o), ip, port, opts);
  }

  /**
   * Hands a listening host-side server to the agent, which pipes each connection to target in the hub netns.
   * The server must be listening and have no 'connection' listener; it belongs to the agent from now on (closed
   * on failure too).
   */
  async forwardListener(server: Server, target: ForwardTarget, opts: { signal?: AbortSignal } = {}): Promise<ForwardHandle> {
    try {
      checkEndpoint(target?.ip, target?.port);
      if (!server.listening) throw new InvalidArgumentError("forwardListener needs a listening net.Server");
      const agent = await this.agent(opts.signal);
      const forwardId = `fwd-${this.nextForward++}`;
      // Connections this process accepts before its copy is closed are passed on unread.
      (server as Server & { pauseOnConnect: boolean }).pauseOnConnect = true;
      const handOver = (socket: Socket) => agent.adopt(forwardId, socket);
      server.on("connection", handOver);
      throwIfAborted(opts.signal);
      // Not cancellable once sent: the agent would hold a listener nobody can close. It answers at once anyway.
      await agent.request({ op: "listen", forwardId, target: { ip: target.ip, port: target.port } }, server);
      const address = server.address();
      server.close();
      let ended!: () => void;
      const closed = new Promise<void>((resolve) => (ended = resolve));
      this.forwards.set(forwardId, { agent, ended });
      if (!agent.alive) this.dropForwardsOf(agent); // it died while answering
      log("forward %s: %o → %s:%d via agent %d", forwardId, address, target.ip, target.port, agent.pid);
      let closing: Promise<void> | undefined;
      return { closed, close: () => (closing ??= this.unforward(forwardId).finally(ended)) };
    } catch (err) {
      if (server.listening) server.close();
      throw err;
    }
  }

  /** Stops the agent (and every forward) and waits for it to exit. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const restarting = this.restarting;
      await this.current.stop();
      if (restarting) await restarting.then((a) => a.stop(), () => undefined);
      for (const entry of this.forwards.values()) entry.ended();
      this.forwards.clear();
    })();
    return this.closing;
  }

  private async unforward(forwardId: string): Promise<void> {
    const agent = this.forwards.get(forwardId)?.agent;
    this.forwards.delete(forwardId);
    if (!agent || !agent.alive || this.closing) return;
    try {
      await agent.request({ op: "unlisten", forwardId });
    } catch (err) {
      // The agent died meanwhile: the listener died with it.
      if (agent.alive) throw err;
    }
  }

  /** When an agent process exits, the forwards it carried have ended. */
  private watch(agent: AgentProcess): void {
    void agent.exited.then(() => this.dropForwardsOf(agent));
  }

  private dropForwardsOf(agent: AgentProcess): void {
    for (const [id, entry] of this.forwards) {
      if (entry.agent !== agent) continue;
      this.forwards.delete(id);
      entry.ended();
    }
  }

  /** The live agent, starting a new one (shared by concurrent callers) when the last one died. */
  private async agent(signal?: AbortSignal): Promise<AgentProcess> {
    if (this.closing) throw new CancelledError("the forward agent is closed");
    if (this.current.alive) return this.current;
    this.restarting ??= (async () => {
      log("agent %d is gone; starting a new one", this.current.pid);
      try {
        const next = await AgentProcess.spawn({ hubNetns: this.opts.hubNetns, runner: this.opts.runner, env: this.opts.env });
        this.current = next;
        this.watch(next);
        return next;
      } finally {
        this.restarting = undefined;
      }
    })();
    const next = await abortable(this.restarting, signal);
    if (this.closing) throw new CancelledError("the forward agent is closed");
    return next;
  }
}

/** Rejects with CancelledError when signal aborts first (the awaited work goes on for other callers). */
function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  throwIfAborted(signal);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CancelledError("operation cancelled", { cause: signal.reason }));
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
