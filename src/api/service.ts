// `Service`: a container (or, later, a host port) with exposed ports, addressed by a content-addressed hostname.
// Immutable like Container; it starts just-in-time when a client binds it, or explicitly with start().
import { isIP } from "node:net";
import { InvalidArgumentError } from "../common/errors.js";
import {
  assertCallOptions,
  assertDnsLabel,
  assertLogsOptions,
  assertOneOf,
  assertOptionalBoolean,
  assertOptions,
  assertPort,
  assertString,
  quote,
  type CallOptions,
  type ServiceDef,
  type PortProtocol,
} from "../definition/index.js";
import type { EngineSource } from "./engine-source.js";
import { UpHandle } from "./up-handle.js";

export interface ServicePort {
  port: number;
  protocol: PortProtocol;
  description?: string;
}

export interface EndpointOptions extends CallOptions {
  /** Default: the first exposed port. */
  port?: number;
  /** Prefixes `<scheme>://`. */
  scheme?: string;
}

export interface UpOptions {
  /** Host → service port mappings; default: every exposed port on the same host port. */
  ports?: { frontend?: number; backend: number; protocol?: PortProtocol }[];
  /** Bind free host ports instead (the handle's `ports` says which). */
  random?: boolean;
  /** Host address to listen on; default "127.0.0.1". */
  bind?: string;
  /** Aborting stops forwarding, like `close()`. */
  signal?: AbortSignal;
}

export interface LogsOptions {
  /** Keep yielding lines as the service prints them; the iteration ends when the service stops. */
  follow?: boolean;
  /** Start at the last `tail` lines (a non-negative integer; a line still being written counts as one). Default: all. */
  tail?: number;
  /** Aborting ends the iteration with a CancelledError. */
  signal?: AbortSignal;
}

export class Service {
  readonly #source: EngineSource;
  readonly #def: ServiceDef;

  /** @internal Created by `container.asService()`. */
  constructor(source: EngineSource, def: ServiceDef) {
    this.#source = source;
    this.#def = def;
  }

  /** The plain definition this service stands for. */
  definition(): ServiceDef {
    return structuredClone(this.#def);
  }

  /** A copy of this service under a custom hostname (a DNS label), resolvable as `<name>` and
   * `<name>.<module>.<session>.svcd.local` from every container of the session. */
  withHostname(name: string): Service {
    assertDnsLabel(name, "hostname");
    return new Service(this.#source, { ...structuredClone(this.#def), hostname: name });
  }

  /** The hostname containers reach this service by. */
  async hostname(options: CallOptions = {}): Promise<string> {
    assertCallOptions(options, "hostname options");
    return (await this.#source.engine()).serviceHostname(this.#def, options);
  }

  /** The exposed ports, in the order they were declared. */
  async ports(options: CallOptions = {}): Promise<ServicePort[]> {
    assertCallOptions(options, "ports options");
    return exposedPorts(this.#def);
  }

  /** `<hostname>:<port>` (first exposed port by default), prefixed with `<scheme>://` when given. */
  async endpoint(options: EndpointOptions = {}): Promise<string> {
    assertCallOptions(options, "endpoint options");
    if (options.port !== undefined) assertPort(options.port, "endpoint port");
    const ports = exposedPorts(this.#def);
    let port = options.port;
    if (port === undefined) {
      const first = ports[0];
      if (!first) throw new InvalidArgumentError("the service exposes no ports: pass endpoint({ port }) or use withExposedPort()");
      port = first.port;
    }
    if (options.scheme !== undefined) {
      assertString(options.scheme, "endpoint scheme");
      if (!/^[a-z][a-z0-9+.-]*$/i.test(options.scheme)) throw new InvalidArgumentError(`invalid endpoint scheme ${quote(options.scheme)}`);
    }
    const address = `${await this.hostname(options)}:${port}`;
    return options.scheme ? `${options.scheme}://${address}` : address;
  }

  /** Starts the service now (healthy) and keeps it running until stop() or the client closes. */
  async start(options: CallOptions = {}): Promise<Service> {
    assertCallOptions(options, "start options");
    await (await this.#source.engine()).startService(this.#def, options);
    return this;
  }

  /** Starts the service and forwards host ports to it until the handle is closed (or the client). */
  async up(options: UpOptions = {}): Promise<UpHandle> {
    checkUpOptions(options);
    const { signal, ...request } = options;
    const session = await (await this.#source.engine()).up(this.#def, request, signal ? { signal } : {});
    if (signal?.aborted) {
      await session.close();
      return new UpHandle(session);
    }
    return new UpHandle(session, signal);
  }

  /**
   * The service's output lines, stdout and stderr merged in arrival order: of its current run, or of its last run
   * in this session once it has stopped. Each iteration reads anew; a service that never ran fails it with
   * NotFoundError. Breaking out of the loop closes what the read held.
   */
  logs(options: LogsOptions = {}): AsyncIterable<string> {
    assertCallOptions(options, "logs options");
    const { signal, ...request } = options;
    assertLogsOptions(request, "logs options");
    const source = this.#source;
    const def = this.#def;
    const opts = { follow: request.follow, tail: request.tail };
    return {
      async *[Symbol.asyncIterator]() {
        const engine = await source.engine();
        for await (const batch of engine.serviceLogs(def, opts, signal ? { signal } : {})) yield* batch;
      },
    };
  }

  /** Stops the service and waits for its process to exit: SIGTERM (SIGKILL after 10 s), or SIGKILL with `kill`. */
  async stop(options: CallOptions & { kill?: boolean } = {}): Promise<Service> {
    assertCallOptions(options, "stop options");
    assertOptionalBoolean(options.kill, "kill");
    await (await this.#source.engine()).stopService(this.#def, { kill: options.kill ?? false }, options);
    return this;
  }
}

/** Exposed ports of a container service, folded from its definition (the last `from` starts over). */
function exposedPorts(def: ServiceDef): ServicePort[] {
  if (def.kind === "host") return def.ports.map((p) => ({ port: p.frontend, protocol: p.protocol }));
  let ports: ServicePort[] = [];
  for (const op of def.container.ops) {
    if (op.op === "from") ports = [];
    else if (op.op === "exposePort") {
      ports = ports.filter((p) => !(p.port === op.port && p.protocol === op.protocol));
      ports.push(op.description === undefined ? { port: op.port, protocol: op.protocol } : { port: op.port, protocol: op.protocol, description: op.description });
    } else if (op.op === "unexposePort") ports = ports.filter((p) => !(p.port === op.port && p.protocol === op.protocol));
  }
  return ports;
}

const PROTOCOLS: readonly PortProtocol[] = ["TCP", "UDP"];

/** `up()`'s options, checked before the engine is asked for anything (no service starts for a bad mapping). */
function checkUpOptions(options: UpOptions): void {
  assertCallOptions(options, "up options");
  assertOptionalBoolean(options.random, "random");
  if (options.bind !== undefined) {
    assertString(options.bind, "bind address");
    if (isIP(options.bind) === 0 || options.bind.includes("%")) {
      throw new InvalidArgumentError(`invalid bind address ${quote(options.bind)}: use an IP address such as 127.0.0.1`);
    }
  }
  if (options.ports === undefined) return;
  if (!Array.isArray(options.ports) || options.ports.length === 0) throw new InvalidArgumentError("up({ ports }) needs at least one port mapping");
  options.ports.forEach((p, i) => {
    assertOptions(p, `up port mapping ${i}`);
    assertPort(p?.backend, "backend port");
    // 0 is not "any port" here: random: true asks for free ports and the handle reports them.
    if (p.frontend !== undefined) assertPort(p.frontend, "frontend port");
    assertOneOf(p.protocol ?? "TCP", PROTOCOLS, "protocol");
  });
}
