// Per-peer UDP relaying, the half both directions share: each peer (the address:port a datagram came from) gets its
// own upstream dgram socket connected to the target, so replies come back on that socket and can be returned to the
// right peer. The agent uses it for `forwardDatagrams` (peers on the host, target in the hub); the engine for UDP host
// services (peers in the hub, target on the host).
//
// Bounds: at most `maxPeers` upstream sockets (the least recently active one is closed to make room), at most
// `maxQueued` datagrams held per peer while its socket connects (more are dropped — UDP may lose datagrams, memory
// may not grow), and a peer silent in both directions for `idleMs` has its socket closed.
import { createSocket, type Socket as DgramSocket } from "node:dgram";
import { isIP } from "node:net";
import { InvalidArgumentError } from "../common/errors.js";
import type { DatagramPeer } from "./agent-protocol.js";

/** Where a peer's upstream socket sends: a fixed endpoint, or one resolved (e.g. a host name) per new socket. */
export type UdpTarget = { ip: string; port: number } | (() => Promise<{ ip: string; port: number }>);

export interface UdpPeerMapOptions {
  target: UdpTarget;
  /** Called with each reply the target sent to a peer's upstream socket. */
  onReply(peer: DatagramPeer, data: Buffer): void;
  /** A peer's socket failed (resolution, connect, ICMP unreachable); the peer is dropped and retried on its next datagram. */
  onError?(peer: DatagramPeer, err: Error): void;
  /** A peer's socket was closed (idle, evicted, failed or close()). */
  onPeerClosed?(peer: DatagramPeer, why: "idle" | "evicted" | "failed" | "closed"): void;
  /** Default 60 000. */
  idleMs?: number;
  /** Default 1024. */
  maxPeers?: number;
  /** Datagrams held per peer while its socket connects; default 64. */
  maxQueued?: number;
  /** Unreference sockets and timers so that they do not keep the process alive (the engine side). */
  unref?: boolean;
}

interface Peer {
  peer: DatagramPeer;
  /** Set once connected; datagrams go straight to it. */
  socket: DgramSocket | undefined;
  /** Set while connecting, so that drop() can close it. */
  connecting: DgramSocket | undefined;
  queue: Buffer[] | undefined;
  timer: NodeJS.Timeout;
  closed: boolean;
}

/** Relays datagrams of many peers to one target, a connected upstream socket per peer, with idle expiry. */
export class UdpPeerMap {
  private readonly peers = new Map<string, Peer>();
  private readonly idleMs: number;
  private readonly maxPeers: number;
  private readonly maxQueued: number;
  private closed = false;

  constructor(private readonly opts: UdpPeerMapOptions) {
    this.idleMs = opts.idleMs ?? 60_000;
    this.maxPeers = opts.maxPeers ?? 1024;
    this.maxQueued = opts.maxQueued ?? 64;
  }

  /** Number of peers with an upstream socket (open or connecting). */
  get size(): number {
    return this.peers.size;
  }

  /** Sends data from peer to the target through the peer's socket, opening it first when needed. */
  send(peer: DatagramPeer, data: Buffer): void {
    if (this.closed) return;
    const key = `${peer.address}|${peer.port}`;
    let entry = this.peers.get(key);
    if (entry) {
      // Most recently active last: the first entry is the one to evict.
      this.peers.delete(key);
      this.peers.set(key, entry);
    } else {
      if (this.peers.size >= this.maxPeers) {
        const [oldest] = this.peers.keys();
        if (oldest !== undefined) this.drop(oldest, "evicted");
      }
      entry = this.open(key, peer);
    }
    entry.timer.refresh();
    if (entry.socket) entry.socket.send(data);
    else if (entry.queue && entry.queue.length < this.maxQueued) entry.queue.push(data);
  }

  /** Closes every peer's socket; later datagrams are ignored. */
  close(): void {
    this.closed = true;
    for (const key of [...this.peers.keys()]) this.drop(key, "closed");
  }

  private open(key: string, peer: DatagramPeer): Peer {
    const timer = setTimeout(() => this.drop(key, "idle"), this.idleMs);
    if (this.opts.unref) timer.unref();
    const entry: Peer = { peer, socket: undefined, connecting: undefined, queue: [], timer, closed: false };
    this.peers.set(key, entry);
    const fail = (err: Error) => {
      if (entry.closed) return;
      this.opts.onError?.(peer, err);
      this.drop(key, "failed");
    };
    void this.resolve().then((target) => {
      if (entry.closed) return;
      if (isIP(target.ip) === 0) throw new InvalidArgumentError(`UDP target ${JSON.stringify(target.ip)} is not an IP address`);
      const socket = createSocket(isIP(target.ip) === 6 ? "udp6" : "udp4");
      entry.connecting = socket;
      socket.on("error", fail);
      socket.on("message", (data: Buffer) => {
        if (entry.closed) return;
        entry.timer.refresh();
        this.opts.onReply(peer, data);
      });
      socket.connect(target.port, target.ip, () => {
        if (entry.closed) return;
        if (this.opts.unref) socket.unref();
        entry.socket = socket;
        entry.connecting = undefined;
        const queued = entry.queue ?? [];
        entry.queue = undefined;
        for (const data of queued) socket.send(data);
      });
    }, fail);
    return entry;
  }

  private async resolve(): Promise<{ ip: string; port: number }> {
    const t = this.opts.target;
    return typeof t === "function" ? t() : t;
  }

  private drop(key: string, why: "idle" | "evicted" | "failed" | "closed"): void {
    const entry = this.peers.get(key);
    if (!entry) return;
    this.peers.delete(key);
    entry.closed = true;
    clearTimeout(entry.timer);
    const socket = entry.socket ?? entry.connecting;
    if (socket) {
      try {
        socket.close();
      } catch {
        // Already closed by an error.
      }
    }
    this.opts.onPeerClosed?.(entry.peer, why);
  }
}
