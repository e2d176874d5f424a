// What the forward agent does with each validated message, apart from the IPC plumbing (agent-main.ts), so that it
// can be driven in-process by tests. It holds the agent's forwards: listeners handed over by the engine, each with
// the connections it carries, and (issue 5) host-service listeners and UDP forwards (hub-listeners.ts), all in one
// id space.
import { Socket as DgramSocket } from "node:dgram";
import { connect, Server, Socket } from "node:net";
import { SvcdError } from "../common/errors.js";
import type { AgentResponse, EngineToAgent, HostListenRequest, ListenDatagramsRequest } from "./agent-protocol.js";
import { DatagramForward, HubTcpListener, HubUdpListener, type AgentForward, type EventSink } from "./hub-listeners.js";
import { joinSockets } from "./socket-pipe.js";
import { tcpProbe } from "./tcp-probe.js";

export type { EventSink } from "./hub-listeners.js";

/**
 * Where the dispatcher sends responses (process.send in the agent); a handle, if any, goes with the response, and
 * `sent` runs once it left (or could not be sent).
 */
export type ResponseSink = (response: AgentResponse, handle?: Server, sent?: () => void) => void;

/** Where diagnostics go (the agent's stderr, which the engine keeps the tail of). */
export type AgentLog = (line: string) => void;

interface Forward {
  server: Server;
  target: { ip: string; port: number };
  connections: Set<Socket>;
}

/** Executes engine requests inside the agent; `handle` is what arrived with the message, if anything. */
export class AgentDispatcher {
  private readonly forwards = new Map<string, Forward>();
  private readonly others = new Map<string, AgentForward | "starting">();
  /** Connections adopted with their own target (listeners the splice helper serves). */
  private readonly strays = new Set<Socket>();

  constructor(
    private readonly respond: ResponseSink,
    private readonly log: AgentLog = () => {},
    private readonly emit: EventSink = () => {},
  ) {}

  /** Handles one message; never throws (failures become error responses). */
  handle(msg: EngineToAgent, handle: unknown): void {
    switch (msg.op) {
      case "probe":
        void tcpProbe(msg.ip, msg.port, msg.timeoutMs).then((value) => this.respond({ type: "response", id: msg.id, ok: true, value }));
        return;
      case "listen":
        if (!(handle instanceof Server)) return this.fail(msg.id, "INTERNAL", `listen ${msg.forwardId}: no listening socket came with the message`);
        if (this.exists(msg.forwardId)) {
          handle.close();
          return this.fail(msg.id, "ALREADY_EXISTS", `forward ${msg.forwardId} exists already`);
        }
        this.listen(msg.forwardId, handle, msg.target);
        return this.respond({ type: "response", id: msg.id, ok: true });
      case "unlisten":
        void this.unlisten(msg.forwardId).then(() => this.respond({ type: "response", id: msg.id, ok: true }));
        return;
      case "adopt": {
        const forward = this.forwards.get(msg.forwardId);
        if (!(handle instanceof Socket)) return this.log(`adopt ${msg.forwardId}: no socket came with the message`);
        if (msg.target) return this.carry({ target: msg.target, connections: this.strays }, handle);
        if (!forward) {
          this.log(`adopt ${msg.forwardId}: no such forward; connection reset`);
          return resetQuietly(handle);
        }
        return this.carry(forward, handle);
      }
      case "host-listen":
        return void this.hostListen(msg);
      case "listen-datagrams":
        return this.listenDatagrams(msg, handle);
      case "datagram": {
        const forward = this.others.get(msg.forwardId);
        if (forward && forward !== "starting") forward.datagram(msg.peer, Buffer.from(msg.data, "base64"));
        return;
      }
    }
  }

  /** Closes every forward and its connections (the agent is stopping). */
  async closeAll(): Promise<void> {
    for (const socket of this.strays) socket.destroy();
    await Promise.all([...this.forwards.keys(), ...this.others.keys()].map((id) => this.unlisten(id)));
  }

  /** Number of open forwards and connections, for tests and debug lines. */
  stats(): { forwards: number; connections: number } {
    let connections = 0;
    for (const f of this.forwards.values()) connections += f.connections.size;
    return { forwards: this.forwards.size + this.others.size, connections };
  }

  private exists(forwardId: string): boolean {
    return this.forwards.has(forwardId) || this.others.has(forwardId);
  }

  private async hostListen(msg: HostListenRequest): Promise<void> {
    if (this.exists(msg.forwardId)) return this.fail(msg.id, "ALREADY_EXISTS", `forward ${msg.forwardId} exists already`);
    this.others.set(msg.forwardId, "starting");
    try {
      const start = msg.protocol === "TCP" ? HubTcpListener.start : HubUdpListener.start;
      const listener = await start(msg.forwardId, msg.address, msg.port, this.emit);
      if (this.others.get(msg.forwardId) !== "starting") {
        await listener.close(); // unlistened while starting
        return this.fail(msg.id, "CANCELLED", `forward ${msg.forwardId} was closed while starting`);
      }
      if (msg.handOff && listener instanceof HubTcpListener) {
        // The engine takes the listener over; what this copy accepts until it is closed still goes as `accepted`.
        this.others.delete(msg.forwardId);
        return this.respond({ type: "response", id: msg.id, ok: true }, listener.server, () => void listener.close());
      }
      this.others.set(msg.forwardId, listener);
      this.respond({ type: "response", id: msg.id, ok: true });
    } catch (err) {
      if (this.others.get(msg.forwardId) === "starting") this.others.delete(msg.forwardId);
      const code = SvcdError.is(err) ? err.code : "INTERNAL";
      this.fail(msg.id, code, `host service ${msg.protocol} ${msg.address}:${msg.port}: ${(err as Error).message}`);
    }
  }

  private listenDatagrams(msg: ListenDatagramsRequest, handle: unknown): void {
    if (!(handle instanceof DgramSocket)) return this.fail(msg.id, "INTERNAL", `listen-datagrams ${msg.forwardId}: no dgram socket came with the message`);
    if (this.exists(msg.forwardId)) {
      handle.close();
      return this.fail(msg.id, "ALREADY_EXISTS", `forward ${msg.forwardId} exists already`);
    }
    this.others.set(msg.forwardId, new DatagramForward(handle, msg.target, this.log, { idleMs: msg.idleMs }));
    this.respond({ type: "response", id: msg.id, ok: true });
  }

  private listen(forwardId: string, server: Server, target: { ip: string; port: number }): void {
    // Sockets accepted from now on start paused and half-open capable: nothing is read before the upstream
    // connection exists, and a client's FIN can reach the service while its answer still flows back.
    const tunable = server as Server & { pauseOnConnect: boolean; allowHalfOpen: boolean };
    tunable.pauseOnConnect = true;
    tunable.allowHalfOpen = true;
    const forward: Forward = { server, target, connections: new Set() };
    this.forwards.set(forwardId, forward);
    server.on("connection", (socket: Socket) => this.carry(forward, socket));
    server.on("error", (err) => this.log(`forward ${forwardId}: listener error: ${err.message}`));
  }

  private carry(forward: Pick<Forward, "target" | "connections">, downstream: Socket): void {
    forward.connections.add(downstream);
    downstream.on("error", () => {}); // reported through the upstream's outcome; must not crash the agent
    const upstream = connect({ host: forward.target.ip, port: forward.target.port, allowHalfOpen: true });
    forward.connections.add(upstream);
    const forget = () => {
      forward.connections.delete(downstream);
      forward.connections.delete(upstream);
    };
    let joined = false;
    upstream.once("error", (err: NodeJS.ErrnoException) => {
      if (!joined) {
        // The target refused or is unreachable: the client sees a reset, not a hang.
        this.log(`connect ${forward.target.ip}:${forward.target.port} failed: ${err.code ?? err.message}`);
        resetQuietly(downstream);
        forget();
      }
    });
    downstream.once("close", () => {
      if (!joined) {
        upstream.destroy();
        forget();
      }
    });
    upstream.once("connect", () => {
      joined = true;
      void joinSockets(downstream, upstream).then(forget);
    });
  }

  private async unlisten(forwardId: string): Promise<void> {
    const other = this.others.get(forwardId);
    if (other) {
      this.others.delete(forwardId);
      if (other !== "starting") await other.close();
      return;
    }
    const forward = this.forwards.get(forwardId);
    if (!forward) return;
    this.forwards.delete(forwardId);
    const closed = new Promise<void>((resolve) => forward.server.close(() => resolve()));
    for (const socket of forward.connections) socket.destroy();
    await closed;
  }

  private fail(id: number, code: SvcdError["code"], message: string): void {
    this.log(message);
    this.respond({ type: "response", id, ok: false, error: { code, message } });
  }
}

/** Sends an RST when the socket still has a handle, else just destroys it. */
export function resetQuietly(socket: Socket): void {
  try {
    if (!socket.destroyed) socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}
