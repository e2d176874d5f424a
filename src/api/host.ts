// `Host`: the caller's machine, as seen from containers.
import { isIP } from "node:net";
import { InvalidArgumentError } from "../common/errors.js";
import {
  assertDialHost,
  assertOneOf,
  assertOptions,
  assertPort,
  assertString,
  quote,
  type HostServicePort,
  type PortProtocol,
} from "../definition/index.js";
import { Directory } from "./directory.js";
import type { EngineSource } from "./engine-source.js";
import { Service } from "./service.js";

export interface HostServicePortOptions {
  /** The port containers connect to (default: the backend port). */
  frontend?: number;
  /** The port on the host. */
  backend: number;
  /** Default "TCP". */
  protocol?: PortProtocol;
}

export interface HostServiceOptions {
  /** The host to dial on the caller's side: a name or an IP. Default "localhost". */
  host?: string;
}

const PROTOCOLS: readonly PortProtocol[] = ["TCP", "UDP"];

export class Host {
  readonly #source: EngineSource;

  /** @internal Created by `client.host()`. */
  constructor(source: EngineSource) {
    this.#source = source;
  }

  /** A host directory to mount with `withMountedDirectory` (a live bind mount). */
  directory(path: string): Directory {
    return new Directory(path);
  }

  /**
   * A service whose ports are the host's: a container that binds it as `db` reaches `host:backend` at `db:frontend`.
   * Each connection is tunnelled to the caller's host; it has its own content-addressed hostname.
   */
  service(ports: HostServicePortOptions[], options: HostServiceOptions = {}): Service {
    if (!Array.isArray(ports) || ports.length === 0) throw new InvalidArgumentError("host().service() needs at least one port");
    assertOptions(options, "host().service() options");
    const host = options.host ?? "localhost";
    assertDialHost(host);
    const mapped: HostServicePort[] = ports.map((p, i) => {
      assertOptions(p, `host().service() port ${i}`);
      assertPort(p?.backend, "backend port");
      const frontend = p.frontend ?? p.backend;
      assertPort(frontend, "frontend port");
      const protocol = p.protocol ?? "TCP";
      assertOneOf(protocol, PROTOCOLS, "protocol");
      return { frontend, backend: p.backend, protocol };
    });
    return new Service(this.#source, { kind: "host", host, ports: mapped });
  }
}

/**
 * `tcp://host:port` or `udp://host:port` (the CLI's form) → the host and its one port. The host is a name, an IPv4
 * address or a bracketed IPv6 address (`tcp://[::1]:3306`: the caller's side dials it); user info, paths, queries,
 * zone indexes and other schemes are refused.
 */
export function parseServiceUri(uri: string): { host: string; port: HostServicePortOptions } {
  assertString(uri, "service URI");
  const bad = (reason: string) => new InvalidArgumentError(`invalid service URI ${quote(uri)}: ${reason}`);
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(uri);
  if (!scheme) throw bad("use tcp://host:port or udp://host:port");
  const name = scheme[1]!.toLowerCase();
  if (name !== "tcp" && name !== "udp") throw bad(`unsupported scheme ${quote(scheme[1])}: use tcp:// or udp://`);
  const authority = uri.slice(scheme[0].length).replace(/\/$/, "");
  if (authority.includes("@")) throw bad("user info (user:password@) is not allowed");
  if (/[/?#]/.test(authority)) throw bad("a path, query or fragment is not allowed");
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(authority);
  if (!m) throw bad("expected host:port (bracket an IPv6 address: [::1]:3306)");
  const [, ipv6, rawHost, rawPort] = m;
  let host: string;
  if (ipv6 !== undefined) {
    if (isIP(ipv6) !== 6) throw bad(`${quote(ipv6)} is not an IPv6 address`);
    host = ipv6;
  } else host = rawHost!;
  const port = Number(rawPort);
  try {
    assertDialHost(host);
    assertPort(port);
  } catch (err) {
    throw bad((err as Error).message);
  }
  return { host, port: { backend: port, protocol: name === "udp" ? "UDP" : "TCP" } };
}
