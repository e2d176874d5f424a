// The IPC protocol between the engine and its forward agent, in one place: every message type and the validators
// both sides run on what they receive (an IPC peer is a boundary — a malformed message is a bug reported as
// InternalError, never acted on).
//
// Engine → agent: requests carrying a numeric `id`; `listen`, `listen-datagrams` and `adopt` also carry a handle
// (a net.Server, a dgram.Socket, a net.Socket). Agent → engine: one `ready` message first, then one response per
// request id. Fire-and-forget, no id, no response: `adopt` (a socket the engine accepted while handing its listener
// over), `datagram` both ways (one UDP payload of a forward, base64) and `accepted` (a connection a host-service
// listener accepted in the hub, its socket sent with the message).
import { isIP } from "node:net";
import { InternalError, InvalidArgumentError, type ErrorCode } from "../common/errors.js";

/** One TCP connect attempt to ip:port from inside the agent's netns. */
export interface ProbeRequest {
  id: number;
  op: "probe";
  ip: string;
  port: number;
  timeoutMs: number;
}

/** Accept on the net.Server handle sent with this message and pipe every connection to target. */
export interface ListenRequest {
  id: number;
  op: "listen";
  forwardId: string;
  target: { ip: string; port: number };
}

/** Stop a forward: close its listener and every connection it carries. */
export interface UnlistenRequest {
  id: number;
  op: "unlisten";
  forwardId: string;
}

/**
 * A connection the engine's copy of a forward's listener accepted; the socket comes with the message. With `target`
 * (a listener handed to the splice helper, which the agent never held), the agent pipes it to that target itself.
 */
export interface AdoptMessage {
  op: "adopt";
  forwardId: string;
  target?: { ip: string; port: number };
}

/** Listen on address:port inside the hub (a host service); the engine has added address to the hub bridge. */
export interface HostListenRequest {
  id: number;
  op: "host-listen";
  forwardId: string;
  address: string;
  port: number;
  protocol: "TCP" | "UDP";
  /**
   * TCP only: answer with the listening net.Server as the response's handle and close the agent's copy once sent (the
   * engine hands it to the splice helper); connections the agent accepted meanwhile still come as `accepted`.
   */
  handOff?: boolean;
}

/** Relay the datagrams of the dgram.Socket sent with this message to target, one upstream socket per peer. */
export interface ListenDatagramsRequest {
  id: number;
  op: "listen-datagrams";
  forwardId: string;
  target: { ip: string; port: number };
  /** A peer's upstream socket closes after this long without traffic. */
  idleMs: number;
}

/** A UDP peer: the address:port a datagram came from or goes to. */
export interface DatagramPeer {
  address: string;
  port: number;
}

/**
 * One datagram of a UDP forward. Engine → agent: for a `listen-datagrams` forward, one the engine's copy of the
 * socket received from `peer` before the hand-over completed; for a UDP host service, a reply to send to `peer`.
 * Agent → engine (UDP host service): one `peer` in the hub sent to the listener. `data` is base64.
 */
export interface DatagramMessage {
  op: "datagram";
  forwardId: string;
  peer: DatagramPeer;
  data: string;
}

export type AgentRequest = ProbeRequest | ListenRequest | UnlistenRequest | HostListenRequest | ListenDatagramsRequest;
export type EngineToAgent = AgentRequest | AdoptMessage | DatagramMessage;

/** The agent's first message: it runs and listens for requests. */
export interface ReadyMessage {
  type: "ready";
  pid: number;
}

/** A request's outcome; `value` is the probe's answer (true: accepted), absent for other ops. */
export interface OkResponse {
  type: "response";
  id: number;
  ok: true;
  value?: boolean;
}

export interface ErrorResponse {
  type: "response";
  id: number;
  ok: false;
  error: { code: ErrorCode; message: string };
}

export type AgentResponse = OkResponse | ErrorResponse;

/** A connection a host-service listener accepted in the hub; its net.Socket comes with the message. */
export interface AcceptedEvent {
  type: "accepted";
  forwardId: string;
}

/** A datagram a UDP host-service listener received from `peer` in the hub (see DatagramMessage). */
export interface DatagramEvent {
  type: "datagram";
  forwardId: string;
  peer: DatagramPeer;
  data: string;
}

export type AgentEvent = AcceptedEvent | DatagramEvent;
export type AgentToEngine = ReadyMessage | AgentResponse | AgentEvent;

/** The largest UDP payload (IPv4: 65535 − 8 − 20), and its base64 length. */
export const MAX_DATAGRAM_BYTES = 65_507;
const MAX_DATAGRAM_BASE64 = Math.ceil(MAX_DATAGRAM_BYTES / 3) * 4;

/** Upper bound of a UDP peer's idle expiry (one day). */
export const MAX_IDLE_MS = 86_400_000;

/** Upper bound of a single probe's connect timeout. */
export const MAX_PROBE_TIMEOUT_MS = 60_000;

const ERROR_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  "INVALID_ARGUMENT", "NOT_FOUND", "ALREADY_EXISTS", "UNAVAILABLE", "UNAUTHORIZED", "DIGEST_MISMATCH",
  "EXEC_FAILED", "SERVICE_FAILED", "TIMEOUT", "CANCELLED", "INTERNAL",
]);

/** Throws InvalidArgumentError unless ip is an IPv4/IPv6 literal and port an integer in 1..65535. */
export function checkEndpoint(ip: unknown, port: unknown): void {
  if (typeof ip !== "string" || isIP(ip) === 0) {
    throw new InvalidArgumentError(`not an IP address: ${JSON.stringify(ip)}`);
  }
  checkPort(port);
}

/** Throws InvalidArgumentError unless port is an integer in 1..65535. */
export function checkPort(port: unknown): asserts port is number {
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidArgumentError(`not a port (1..65535): ${JSON.stringify(port)}`);
  }
}

/** Throws InvalidArgumentError unless ms is a positive finite number no larger than max. */
export function checkTimeout(ms: unknown, what: string, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms <= 0 || ms > max) {
    throw new InvalidArgumentError(`${what} must be a positive number of milliseconds up to ${max}: ${JSON.stringify(ms)}`);
  }
}

/** Throws InvalidArgumentError unless protocol is "TCP" or "UDP". */
export function checkProtocol(protocol: unknown): asserts protocol is "TCP" | "UDP" {
  if (protocol !== "TCP" && protocol !== "UDP") {
    throw new InvalidArgumentError(`protocol must be "TCP" or "UDP": ${JSON.stringify(protocol)}`);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isId(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function isForwardId(v: unknown): v is string {
  return typeof v === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(v);
}

function isPeer(v: unknown): v is DatagramPeer {
  if (!isRecord(v)) return false;
  try {
    checkEndpoint(v.address, v.port);
    return true;
  } catch {
    return false;
  }
}

function isBase64(v: unknown): v is string {
  return typeof v === "string" && v.length <= MAX_DATAGRAM_BASE64 && v.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(v);
}

/** A datagram message's fields, validated (shared by both directions). */
function parseDatagram(side: string, msg: Record<string, unknown>): { forwardId: string; peer: DatagramPeer; data: string } {
  if (!isForwardId(msg.forwardId)) throw bad(side, msg, "forwardId");
  if (!isPeer(msg.peer)) throw bad(side, msg, "peer");
  if (!isBase64(msg.data)) throw bad(side, msg, "data");
  return { forwardId: msg.forwardId, peer: { address: msg.peer.address, port: msg.peer.port }, data: msg.data };
}

/** A message's `target` ({ ip, port } inside the hub), validated. */
function engineTarget(msg: Record<string, unknown>): { ip: string; port: number } {
  const target = msg.target;
  if (!isRecord(target)) throw bad("engine", msg, "target");
  try {
    checkEndpoint(target.ip, target.port);
  } catch (err) {
    throw bad("engine", msg, "target", err);
  }
  return { ip: target.ip as string, port: target.port as number };
}

function bad(side: string, msg: unknown, why: string, cause?: unknown): InternalError {
  return new InternalError(`forward agent protocol: bad ${side} message (${why}): ${JSON.stringify(msg)?.slice(0, 200)}`, { cause });
}

/** Validates what the agent received; throws InternalError for anything that is not a well-formed message. */
export function parseEngineMessage(msg: unknown): EngineToAgent {
  if (!isRecord(msg)) throw bad("engine", msg, "not an object");
  switch (msg.op) {
    case "probe":
      if (!isId(msg.id)) throw bad("engine", msg, "id");
      try {
        checkEndpoint(msg.ip, msg.port);
        checkTimeout(msg.timeoutMs, "timeoutMs", MAX_PROBE_TIMEOUT_MS);
      } catch (err) {
        throw bad("engine", msg, "endpoint or timeout", err);
      }
      return { id: msg.id, op: "probe", ip: msg.ip as string, port: msg.port as number, timeoutMs: msg.timeoutMs as number };
    case "listen": {
      if (!isId(msg.id)) throw bad("engine", msg, "id");
      if (!isForwardId(msg.forwardId)) throw bad("engine", msg, "forwardId");
      const target = engineTarget(msg);
      return { id: msg.id, op: "listen", forwardId: msg.forwardId, target };
    }
    case "unlisten":
      if (!isId(msg.id)) throw bad("engine", msg, "id");
      if (!isForwardId(msg.forwardId)) throw bad("engine", msg, "forwardId");
      return { id: msg.id, op: "unlisten", forwardId: msg.forwardId };
    case "adopt":
      if (!isForwardId(msg.forwardId)) throw bad("engine", msg, "forwardId");
      return msg.target === undefined ? { op: "adopt", forwardId: msg.forwardId } : { op: "adopt", forwardId: msg.forwardId, target: engineTarget(msg) };
    case "host-listen":
      if (!isId(msg.id)) throw bad("engine", msg, "id");
      if (!isForwardId(msg.forwardId)) throw bad("engine", msg, "forwardId");
      try {
        checkEndpoint(msg.address, msg.port);
        checkProtocol(msg.protocol);
      } catch (err) {
        throw bad("engine", msg, "address, port or protocol", err);
      }
      if (msg.handOff !== undefined && (msg.handOff !== true || msg.protocol !== "TCP")) throw bad("engine", msg, "handOff");
      return {
        id: msg.id, op: "host-listen", forwardId: msg.forwardId, address: msg.address as string, port: msg.port as number, protocol: msg.protocol,
        ...(msg.handOff ? { handOff: true } : {}),
      };
    case "listen-datagrams": {
      if (!isId(msg.id)) throw bad("engine", msg, "id");
      if (!isForwardId(msg.forwardId)) throw bad("engine", msg, "forwardId");
      const target = engineTarget(msg);
      try {
        checkTimeout(msg.idleMs, "idleMs", MAX_IDLE_MS);
      } catch (err) {
        throw bad("engine", msg, "idleMs", err);
      }
      return { id: msg.id, op: "listen-datagrams", forwardId: msg.forwardId, target, idleMs: msg.idleMs as number };
    }
    case "datagram":
      return { op: "datagram", ...parseDatagram("engine", msg) };
    default:
      throw bad("engine", msg, "unknown op");
  }
}

/** Validates what the engine received from its agent; throws InternalError for anything malformed. */
export function parseAgentMessage(msg: unknown): AgentToEngine {
  if (!isRecord(msg)) throw bad("agent", msg, "not an object");
  if (msg.type === "ready") {
    if (typeof msg.pid !== "number" || !Number.isInteger(msg.pid) || msg.pid <= 0) throw bad("agent", msg, "pid");
    return { type: "ready", pid: msg.pid };
  }
  if (msg.type === "accepted") {
    if (!isForwardId(msg.forwardId)) throw bad("agent", msg, "forwardId");
    return { type: "accepted", forwardId: msg.forwardId };
  }
  if (msg.type === "datagram") return { type: "datagram", ...parseDatagram("agent", msg) };
  if (msg.type !== "response") throw bad("agent", msg, "unknown type");
  if (!isId(msg.id)) throw bad("agent", msg, "id");
  if (msg.ok === true) {
    if (msg.value !== undefined && typeof msg.value !== "boolean") throw bad("agent", msg, "value");
    return msg.value === undefined ? { type: "response", id: msg.id, ok: true } : { type: "response", id: msg.id, ok: true, value: msg.value };
  }
  if (msg.ok !== false) throw bad("agent", msg, "ok");
  const error = msg.error;
  if (!isRecord(error) || typeof error.code !== "string" || !ERROR_CODES.has(error.code) || typeof error.message !== "string") {
    throw bad("agent", msg, "error");
  }
  return { type: "response", id: msg.id, ok: false, error: { code: error.code as ErrorCode, message: error.message } };
}
