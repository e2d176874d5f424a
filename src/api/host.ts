// `Host`: the caller's machine, as seen from containers.
import { InvalidArgumentError } from "../common/errors.js";
import { assertPort, assertString, type HostServicePort, type PortProtocol } from "../definition/index.js";
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

const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$|^[0-9a-fA-F:.]+$/;

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
    const host = options.host ?? "localhost";
    assertString(host, "host");
    if (!HOST_NAME.test(host)) throw new InvalidArgumentError(`invalid host ${JSON.stringify(host)}: use a host name or an IP address`);
    const mapped: HostServicePort[] = ports.map((p) => {
      assertPort(p?.backend, "backend port");
      const frontend = p.frontend ?? p.backend;
      assertPort(frontend, "frontend port");
      const protocol = p.protocol ?? "TCP";
      if (protocol !== "TCP" && protocol !== "UDP") throw new InvalidArgumentError(`invalid protocol ${JSON.stringify(protocol)}`);
      return { frontend, backend: p.backend, protocol };
    });
    return new Service(this.#source, { kind: "host", host, ports: mapped });
  }
}

/** `tcp://host:port` or `udp://host:port` (the CLI's form) → the host and its one port. */
export function parseServiceUri(uri: string): { host: string; port: HostServicePortOptions } {
  assertString(uri, "service URI");
  const match = /^(tcp|udp):\/\/(\[[0-9a-fA-F:.]+\]|[^:/\s]+):(\d{1,5})\/?$/.exec(uri);
  if (!match) throw new InvalidArgumentError(`invalid service URI ${JSON.stringify(uri)}: use tcp://host:port or udp://host:port`);
  const [, scheme, rawHost, rawPort] = match;
  const port = Number(rawPort);
  assertPort(port);
  return { host: rawHost!.replace(/^\[|\]$/g, ""), port: { backend: port, protocol: scheme === "udp" ? "UDP" : "TCP" } };
}
