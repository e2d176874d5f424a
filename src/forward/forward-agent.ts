// The engine's handle on its forward agent: a small Node process inside the hub network namespace (DESIGN.md §4,
// "One hop, no relay") that probes service ports for health checks and carries TCP forwards.
//
// Crashes: when the agent dies unexpectedly, every pending call fails with EngineUnavailableError quoting its exit
// status and the tail of its stderr; the next call starts a fresh agent (each call restarts at most once and fails
// clearly if that start fails). Forwards the dead agent carried are gone — their listeners died with it, so their
// ports are free — and their handles' close() resolves at once; the owner (an `up` handle) re-creates them if it
// wants to. close() is final: later calls fail with CancelledError.
//
// TCP bytes (issue 13): when the splice helper is built (native/svcd-splice.c), TCP `up` listeners and TCP host
// services are carried by it, one process per listener (spliced-forwards.ts); the agent then only makes the hub side
// and carries the few connections accepted before the helper took over. What follows is the Node path, used without it.
//
// Forwarding (issue 5, host → hub): forwardListener(server, target) takes a listening net.Server created in the
// engine's netns and passes it to the agent over IPC (a socket keeps the netns it was created in). The agent accepts
// there and connects each client to target inside the hub netns, piping both ways (backpressure, half-close,
// reset on failure). Ownership of `server` passes to the agent: this process closes its own copy once the agent holds
// it, and connections this side accepts in between are handed over too, so none is lost or served twice.
//
// Host services (issue 5, hub → host): hostService() adds the listen address to the hub bridge (BridgeAddresses: a
// /32 host route, reference-counted, removed on close), and the agent listens there. TCP: each accepted socket comes
// back over IPC and HostServiceRelay dials the target here, in the engine's netns, joining the two; UDP: datagrams
// are relayed over IPC per peer (HostServiceRelay, idle expiry, bounded channel). UDP `up`: forwardDatagrams() hands a
// bound host dgram socket to the agent, which relays each peer's datagrams to the target (udp-peer-map.ts); what this
// process's copy reads before the hand-over completes is passed on, so nothing is dropped there.
import { Socket as DgramSocket } from "node:dgram";
import { existsSync } from "node:fs";
import { abortable } from "../common/abortable.js";
import { assertDialHost } from "../common/dial-host.js";
import { isAbsolute } from "node:path";
import type { Server, Socket } from "node:net";
import { CancelledError, InternalError, InvalidArgumentError, NotFoundError, throwIfAborted } from "../common/errors.js";
import { debug } from "../common/debug.js";
import { HostProcessRunner } from "../common/process-runner.js";
import { resetQuietly } from "./agent-dispatcher.js";
import { AgentProcess } from "./agent-process.js";
import { checkEndpoint, checkPort, checkProtocol, checkTimeout, MAX_IDLE_MS, MAX_PROBE_TIMEOUT_MS, type AgentEvent } from "./agent-protocol.js";
import { BridgeAddresses, checkDeviceName } from "./bridge-addresses.js";
import { HostServiceRelay, type HostDialTarget, type HostServiceOptions } from "./host-service.js";
import { SendBudget } from "./send-budget.js";
import { defaultSpliceHelper } from "./splice-forward.js";
import { SplicedForwards } from "./spliced-forwards.js";
import { waitForPort, type WaitForPortOptions } from "./port-waiter.js";
import type { AgentOptions, ForwardDatagramsOptions, ForwardHandle, ForwardTarget, HostServiceListen } from "./forward-types.js";

export type { AgentOptions, ForwardDatagramsOptions, ForwardHandle, ForwardTarget, HostServiceListen } from "./forward-types.js";

const log = debug("forward");

/** The hub bridge's name (network/hub/hub-network.ts HUB_BRIDGE), the default host-service device. */
const DEFAULT_HOST_SERVICE_DEVICE = "svcd0";

interface ForwardEntry {
  agent: AgentProcess;
  ended(): void;
  /** Host services: the engine side, and the bridge address the forward holds. */
  relay?: HostServiceRelay;
  address?: string;
}

/** The forward agent of one engine process: health probes and TCP forwards from inside the hub netns. */
export class ForwardAgent {
  private current: AgentProcess;
  private restarting: Promise<AgentProcess> | undefined;
  private closing: Promise<void> | undefined;
  private nextForward = 1;
  private readonly forwards = new Map<string, ForwardEntry>();
  private readonly addresses: BridgeAddresses;
  /** TCP forwards the splice helper carries; undefined when it is not built (or turned off). */
  private readonly spliced: SplicedForwards | undefined;

  private constructor(private readonly opts: AgentOptions, first: AgentProcess) {
    this.addresses = new BridgeAddresses({
      runner: opts.runner,
      netns: opts.hubNetns,
      device: opts.hostServiceDevice ?? DEFAULT_HOST_SERVICE_DEVICE,
      env: opts.env,
    });
    const helper = opts.spliceHelper === undefined ? defaultSpliceHelper(opts.env) : opts.spliceHelper;
    if (helper !== false && helper !== undefined) {
      this.spliced = new SplicedForwards({
        helper,
        hubNetns: opts.hubNetns,
        runner: opts.runner,
        hostRunner: opts.hostRunner ?? new HostProcessRunner(),
        env: opts.env,
        addresses: this.addresses,
      });
    } else log("no splice helper (scripts/setup.sh builds build/svcd-splice): TCP forwards are piped by the agent");
    this.current = first;
    this.watch(first);
  }

  /** Starts the agent in opts.hubNetns; resolves when it reports ready over IPC. */
  static async start(opts: AgentOptions): Promise<ForwardAgent> {
    if (typeof opts.hubNetns !== "string" || !isAbsolute(opts.hubNetns)) {
      throw new InvalidArgumentError(`hubNetns must be an absolute path to a network namespace file: ${JSON.stringify(opts.hubNetns)}`);
    }
    if (!existsSync(opts.hubNetns)) throw new NotFoundError(`hub network namespace ${opts.hubNetns} does not exist`);
    if (opts.hostServiceDevice !== undefined) checkDeviceName(opts.hostServiceDevice);
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
   * Retries probe with backoff 5 ms → 1 s (PROBE_BACKOFF) until it connects, `timeoutMs` passes (TimeoutError) or `signal`
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
      throwIfAborted(opts.signal);
      if (this.spliced) return await this.spliced.listener(forwardId, agent, server, target);
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

  /**
   * A host service: listen.address (an IPv4/IPv6 literal, added to the hub bridge as a /32 or /128 until close)
   * :listen.port inside the hub, each connection or datagram relayed to dial.host:dial.port dialled from THIS process's
   * netns. A dial that fails resets the container's connection and is reported through opts.onError. A port in use in
   * the hub is an AlreadyExistsError; nothing is left behind on any failure.
   */
  async hostService(
    listen: HostServiceListen,
    dial: HostDialTarget,
    opts: HostServiceOptions & { signal?: AbortSignal } = {},
  ): Promise<ForwardHandle> {
    checkEndpoint(listen?.address, listen?.port);
    checkProtocol(listen.protocol);
    assertDialHost(dial?.host, "dial host");
    checkPort(dial.port);
    if (opts.dialTimeoutMs !== undefined) checkTimeout(opts.dialTimeoutMs, "dialTimeoutMs");
    if (opts.idleMs !== undefined) checkTimeout(opts.idleMs, "idleMs", MAX_IDLE_MS);
    if (opts.onError !== undefined && typeof opts.onError !== "function") throw new InvalidArgumentError("onError must be a function");
    const agent = await this.agent(opts.signal);
    const forwardId = `host-${this.nextForward++}`;
    const target = { host: dial.host, port: dial.port };
    if (this.spliced && listen.protocol === "TCP") {
      throwIfAborted(opts.signal);
      return this.spliced.hostService(forwardId, agent, listen, target, opts);
    }
    const relay = new HostServiceRelay(forwardId, target, listen.protocol, (msg, done) => agent.sendDatagram(msg, done), opts);
    let ended!: () => void;
    const closed = new Promise<void>((resolve) => (ended = resolve));
    throwIfAborted(opts.signal);
    await this.addresses.acquire(listen.address);
    try {
      this.forwards.set(forwardId, { agent, ended, relay, address: listen.address });
      // Not cancellable once sent (as forwardListener): the agent answers as soon as it listens or failed to.
      await agent.request({ op: "host-listen", forwardId, address: listen.address, port: listen.port, protocol: listen.protocol });
    } catch (err) {
      this.forwards.delete(forwardId);
      relay.close();
      await this.addresses.release(listen.address).catch((e) => log("release %s: %s", listen.address, String(e)));
      throw err;
    }
    if (!agent.alive) this.dropForwardsOf(agent);
    log("host service %s: %s %s:%d → %s:%d via agent %d", forwardId, listen.protocol, listen.address, listen.port, dial.host, dial.port, agent.pid);
    let closing: Promise<void> | undefined;
    return { closed, close: () => (closing ??= this.unforward(forwardId).finally(ended)) };
  }

  /**
   * UDP `up`: hands a bound host dgram socket to the agent, which relays each peer's datagrams to target in the hub
   * (one upstream socket per peer, closed after opts.idleMs idle) and sends replies back to the peer from it. The
   * socket belongs to the agent from now on: this process's copy is closed (on failure too).
   */
  async forwardDatagrams(socket: DgramSocket, target: { ip: string; port: number }, opts: ForwardDatagramsOptions = {}): Promise<ForwardHandle> {
    if (!(socket instanceof DgramSocket)) throw new InvalidArgumentError("forwardDatagrams needs a dgram.Socket");
    try {
      try {
        socket.address();
      } catch (err) {
        throw new InvalidArgumentError("forwardDatagrams needs a bound dgram.Socket", { cause: err });
      }
      checkEndpoint(target?.ip, target?.port);
      const idleMs = opts.idleMs ?? 60_000;
      checkTimeout(idleMs, "idleMs", MAX_IDLE_MS);
      const agent = await this.agent(opts.signal);
      throwIfAborted(opts.signal);
      const forwardId = `udp-${this.nextForward++}`;
      // Datagrams this copy reads until it is closed are passed on (within a byte budget), not lost.
      const budget = new SendBudget();
      socket.on("message", (data, rinfo) => {
        const msg = { op: "datagram" as const, forwardId, peer: { address: rinfo.address, port: rinfo.port }, data: data.toString("base64") };
        if (budget.take(msg.data.length)) agent.sendDatagram(msg, () => budget.give(msg.data.length));
      });
      await agent.request({ op: "listen-datagrams", forwardId, target: { ip: target.ip, port: target.port }, idleMs }, socket);
      const address = socket.address();
      socket.close();
      let ended!: () => void;
      const closed = new Promise<void>((resolve) => (ended = resolve));
      this.forwards.set(forwardId, { agent, ended });
      if (!agent.alive) this.dropForwardsOf(agent);
      log("udp forward %s: %o → %s:%d via agent %d", forwardId, address, target.ip, target.port, agent.pid);
      let closing: Promise<void> | undefined;
      return { closed, close: () => (closing ??= this.unforward(forwardId).finally(ended)) };
    } catch (err) {
      try {
        socket.close();
      } catch {
        // not bound or closed already
      }
      throw err;
    }
  }

  /** Stops the agent (and every forward), removes host-service addresses, and waits for it to exit. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const restarting = this.restarting;
      await this.spliced?.closeAll();
      await this.current.stop();
      if (restarting) await restarting.then((a) => a.stop(), () => undefined);
      for (const entry of this.forwards.values()) {
        entry.relay?.close();
        entry.ended();
      }
      this.forwards.clear();
      await this.addresses.releaseAll();
    })();
    return this.closing;
  }

  private async unforward(forwardId: string): Promise<void> {
    const entry = this.forwards.get(forwardId);
    this.forwards.delete(forwardId);
    if (!entry) return;
    entry.relay?.close();
    try {
      if (!entry.agent.alive || this.closing) return;
      await entry.agent.request({ op: "unlisten", forwardId });
    } catch (err) {
      // The agent died meanwhile: the listener died with it.
      if (entry.agent.alive) throw err;
    } finally {
      if (entry.address !== undefined && !this.closing) await this.addresses.release(entry.address);
    }
  }

  /** When an agent process exits, the forwards it carried have ended; its events reach their forwards meanwhile. */
  private watch(agent: AgentProcess): void {
    agent.onEvent = (event, socket) => this.onEvent(event, socket);
    void agent.exited.then(() => this.dropForwardsOf(agent));
  }

  private onEvent(event: AgentEvent, socket: Socket | undefined): void {
    const relay = this.forwards.get(event.forwardId)?.relay ?? this.spliced?.relay(event.forwardId);
    if (event.type === "accepted") {
      if (!socket) return;
      if (relay) relay.accepted(socket);
      else resetQuietly(socket); // closed meanwhile
      return;
    }
    relay?.datagram(event.peer, Buffer.from(event.data, "base64"));
  }

  private dropForwardsOf(agent: AgentProcess): void {
    this.spliced?.dropAgent(agent);
    for (const [id, entry] of this.forwards) {
      if (entry.agent !== agent) continue;
      this.forwards.delete(id);
      entry.relay?.close();
      if (entry.address !== undefined) {
        void this.addresses.release(entry.address).catch((err) => log("release %s: %s", entry.address, String(err)));
      }
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
