// The agent's side of host services and UDP `up` forwards (issue 5), each one forward the dispatcher holds by id:
// - HubTcpListener: a host service's TCP listener on a reserved hub address; every accepted connection is sent to
//   the engine unread (paused, half-open capable), which dials the host and joins the two.
// - HubUdpListener: a host service's UDP socket on a reserved hub address; each datagram goes to the engine over IPC
//   with its peer, and the engine's replies are sent back to that peer from this socket (the one the peer talks to).
// - DatagramForward: a host dgram socket handed over by the engine (`up` for UDP ports); datagrams are relayed to the
//   target in the hub through a UdpPeerMap (one upstream socket per peer, idle expiry), replies sent from the host
//   socket back to their peer.
import { createSocket, type Socket as DgramSocket } from "node:dgram";
import { once } from "node:events";
import { createServer, isIP, type Server, type Socket } from "node:net";
import { AlreadyExistsError, InternalError, InvalidArgumentError, type SvcdError } from "../common/errors.js";
import type { AgentEvent, DatagramPeer } from "./agent-protocol.js";
import { UdpPeerMap } from "./udp-peer-map.js";

/** Where the agent sends events (process.send in the agent); a socket handle goes with `accepted`. */
export type EventSink = (event: AgentEvent, handle?: Socket) => void;

/** A forward the agent holds apart from the TCP `listen` ones. */
export interface AgentForward {
  /** Stops it and frees its socket; resolves once closed. */
  close(): Promise<void>;
  /** A datagram from the engine for this forward (see DatagramMessage); ignored by TCP listeners. */
  datagram(peer: DatagramPeer, data: Buffer): void;
}

/** The error a failed bind becomes: the address in use or missing is named; anything else is internal. */
function bindError(what: string, err: NodeJS.ErrnoException): SvcdError {
  if (err.code === "EADDRINUSE") return new AlreadyExistsError(`${what} is in use inside the hub`, { cause: err });
  if (err.code === "EADDRNOTAVAIL") return new InvalidArgumentError(`${what}: the address is not on the hub bridge`, { cause: err });
  return new InternalError(`${what}: ${err.message}`, { cause: err });
}

/** A host service's TCP listener inside the hub. */
export class HubTcpListener implements AgentForward {
  /** The listening server (handed to the engine for the splice helper, see HostListenRequest.handOff). */
  private constructor(readonly server: Server) {}

  /** Listens on address:port and sends each accepted connection to the engine as `accepted`. */
  static async start(forwardId: string, address: string, port: number, emit: EventSink): Promise<HubTcpListener> {
    const server = createServer({ pauseOnConnect: true, allowHalfOpen: true });
    server.on("connection", (socket: Socket) => {
      socket.on("error", () => {}); // a reset before the hand-over must not crash the agent
      emit({ type: "accepted", forwardId }, socket);
    });
    server.listen({ host: address, port, exclusive: true });
    try {
      await Promise.race([once(server, "listening"), once(server, "error").then(([err]) => Promise.reject(err))]);
    } catch (err) {
      throw bindError(`TCP ${address}:${port}`, err as NodeJS.ErrnoException);
    }
    server.on("error", () => {});
    return new HubTcpListener(server);
  }

  close(): Promise<void> {
    // Not waiting for 'close': connections already sent live in the engine, which closes them itself.
    this.server.close();
    return Promise.resolve();
  }

  datagram(): void {}
}

/** A host service's UDP socket inside the hub: datagrams go to the engine, replies come back through it. */
export class HubUdpListener implements AgentForward {
  private constructor(private readonly socket: DgramSocket) {}

  /** Binds address:port and sends each datagram to the engine as a `datagram` event. */
  static async start(forwardId: string, address: string, port: number, emit: EventSink): Promise<HubUdpListener> {
    const socket = createSocket({ type: isIP(address) === 6 ? "udp6" : "udp4", reuseAddr: false });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("error", reject);
        socket.bind({ address, port, exclusive: true }, () => {
          socket.off("error", reject);
          resolve();
        });
      });
    } catch (err) {
      socket.close();
      throw bindError(`UDP ${address}:${port}`, err as NodeJS.ErrnoException);
    }
    socket.on("error", () => {}); // ICMP errors from replies to vanished peers
    socket.on("message", (data, rinfo) =>
      emit({ type: "datagram", forwardId, peer: { address: rinfo.address, port: rinfo.port }, data: data.toString("base64") }),
    );
    return new HubUdpListener(socket);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  /** A reply from the host target: sent to peer from the listening socket. */
  datagram(peer: DatagramPeer, data: Buffer): void {
    this.socket.send(data, peer.port, peer.address);
  }
}

/** A host UDP socket handed to the agent, relayed per peer to a target in the hub. */
export class DatagramForward implements AgentForward {
  private readonly peers: UdpPeerMap;

  constructor(
    private readonly socket: DgramSocket,
    target: { ip: string; port: number },
    log: (line: string) => void,
    opts: { idleMs?: number; maxPeers?: number } = {},
  ) {
    this.peers = new UdpPeerMap({
      target,
      idleMs: opts.idleMs,
      maxPeers: opts.maxPeers,
      onReply: (peer, data) => socket.send(data, peer.port, peer.address),
      onError: (peer, err) => log(`UDP ${peer.address}:${peer.port} → ${target.ip}:${target.port}: ${err.message}`),
    });
    socket.on("error", (err) => log(`UDP forward socket: ${err.message}`));
    socket.on("message", (data, rinfo) => this.peers.send({ address: rinfo.address, port: rinfo.port }, data));
  }

  /** Open per-peer upstream sockets, for tests and debug lines. */
  get peerCount(): number {
    return this.peers.size;
  }

  close(): Promise<void> {
    this.peers.close();
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    });
  }

  /** A datagram the engine's copy of the socket read before the hand-over completed: relayed like any other. */
  datagram(peer: DatagramPeer, data: Buffer): void {
    this.peers.send(peer, data);
  }
}
