// The engine's side of one host service (issue 5, hub → host): the agent listens in the hub and passes on what
// arrives; this side dials the host target from the engine's own netns.
// - TCP: each accepted connection comes as a socket over IPC; it is joined with a fresh connection to dial.host:port
//   (joinSockets: backpressure, half-close). A dial that fails or times out resets the container's connection at once
//   (it never hangs) and is reported through onError.
// - UDP: datagrams come over IPC with their hub peer; a UdpPeerMap keeps one host socket per peer (idle expiry), and
//   replies go back over IPC to the agent, which sends them to the peer. At most SendBudget bytes wait in the
//   channel; more datagrams are dropped.
import { lookup } from "node:dns/promises";
import { connect, isIP, type Socket } from "node:net";
import { EngineUnavailableError } from "../common/errors.js";
import { debug } from "../common/debug.js";
import type { DatagramMessage, DatagramPeer } from "./agent-protocol.js";
import { resetQuietly } from "./agent-dispatcher.js";
import { SendBudget } from "./send-budget.js";
import { joinSockets } from "./socket-pipe.js";
import { UdpPeerMap } from "./udp-peer-map.js";

const log = debug("forward");

/** Where a host service's traffic goes on the caller's host. */
export interface HostDialTarget {
  /** An IP literal (no zone) or a DNS name (assertDialHost), resolved on the caller's side. */
  host: string;
  port: number;
}

/** Options of one host service on the engine's side. */
export interface HostServiceOptions {
  /** Told about every dial that failed (the container's connection was reset) and every UDP relay failure. */
  onError?: (err: Error) => void;
  /** TCP: a dial that has not connected after this long resets the container's connection. Default 10 000. */
  dialTimeoutMs?: number;
  /** UDP: a peer's host socket closes after this long without traffic. Default 60 000. */
  idleMs?: number;
}

/** Resolves host for a UDP socket, preferring IPv4 (services on "localhost" mostly bind 127.0.0.1). */
async function resolveUdp(host: string): Promise<string> {
  if (isIP(host) !== 0) return host;
  const all = await lookup(host, { all: true });
  const pick = all.find((a) => a.family === 4) ?? all[0];
  if (!pick) throw new EngineUnavailableError(`host ${host} has no address`);
  return pick.address;
}

/** The engine side of one host service. */
export class HostServiceRelay {
  private readonly connections = new Set<Socket>();
  private readonly peers: UdpPeerMap | undefined;
  private readonly budget = new SendBudget();
  private closed = false;

  constructor(
    private readonly name: string,
    private readonly dial: HostDialTarget,
    protocol: "TCP" | "UDP",
    /** Sends a reply datagram to the agent; `done` once it left the channel. */
    sendToAgent: ((msg: DatagramMessage, done: () => void) => void) | undefined,
    private readonly opts: HostServiceOptions = {},
  ) {
    if (protocol === "UDP") {
      const send = sendToAgent ?? ((_m: DatagramMessage, done: () => void) => done());
      this.peers = new UdpPeerMap({
        target: async () => ({ ip: await resolveUdp(dial.host), port: dial.port }),
        idleMs: opts.idleMs,
        unref: true,
        onReply: (peer, data) => {
          const msg: DatagramMessage = { op: "datagram", forwardId: name, peer, data: data.toString("base64") };
          const n = msg.data.length;
          if (this.budget.take(n)) send(msg, () => this.budget.give(n));
        },
        onError: (peer, err) =>
          this.report(new EngineUnavailableError(`host service ${name}: UDP from ${peer.address}:${peer.port} to ${dial.host}:${dial.port}: ${err.message}`, { cause: err })),
      });
    }
  }

  /** Open TCP connections and UDP peer sockets, for tests and debug lines. */
  stats(): { connections: number; peers: number } {
    return { connections: this.connections.size / 2, peers: this.peers?.size ?? 0 };
  }

  /** A connection the agent accepted: dial the host and join the two, or reset it. */
  accepted(downstream: Socket): void {
    if (this.closed) return resetQuietly(downstream);
    downstream.allowHalfOpen = true; // a FIN before the dial completes must not end our side
    downstream.on("error", () => {}); // reported through the upstream's outcome
    const upstream = connect({ host: this.dial.host, port: this.dial.port, allowHalfOpen: true });
    this.connections.add(downstream);
    this.connections.add(upstream);
    const forget = () => {
      this.connections.delete(downstream);
      this.connections.delete(upstream);
    };
    let joined = false;
    const timer = setTimeout(() => upstream.destroy(Object.assign(new Error("connect timed out"), { code: "ETIMEDOUT" })), this.opts.dialTimeoutMs ?? 10_000);
    timer.unref();
    upstream.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (joined) return;
      resetQuietly(downstream);
      forget();
      this.report(this.dialError(err.code ?? err.message, err));
    });
    downstream.once("close", () => {
      if (joined) return;
      clearTimeout(timer);
      upstream.destroy();
      forget();
    });
    upstream.once("connect", () => {
      clearTimeout(timer);
      joined = true;
      void joinSockets(downstream, upstream).then(forget);
    });
  }

  /** A dial the splice helper made failed (errno name): reported as a failed dial of this relay's own is. */
  dialFailed(code: string): void {
    this.report(this.dialError(code));
  }

  /** A datagram a hub peer sent to the service: relayed to the host through the peer's socket. */
  datagram(peer: DatagramPeer, data: Buffer): void {
    if (!this.closed) this.peers?.send(peer, data);
  }

  /** Resets every open connection and closes every peer socket. Idempotent. */
  close(): void {
    this.closed = true;
    for (const s of this.connections) resetQuietly(s);
    this.connections.clear();
    this.peers?.close();
  }

  private dialError(why: string, cause?: Error): EngineUnavailableError {
    const message = `host service ${this.name}: connecting to ${this.dial.host}:${this.dial.port} failed (${why}); the container's connection was reset`;
    return new EngineUnavailableError(message, cause ? { cause } : undefined);
  }

  private report(err: Error): void {
    log("%s", err.message);
    try {
      this.opts.onError?.(err);
    } catch (cbErr) {
      log("host service %s: onError threw: %s", this.name, String(cbErr));
    }
  }
}
