// `up`: host ports forwarded to a service. Listeners are made on the caller's side (host adapter) and handed to the
// forward agent; the forwarding holds a reference on the service until it is closed, or the service exits. Any
// failure leaves nothing listening and releases the service.
import { isIP } from "node:net";
import { debug } from "../../common/debug.js";
import { InvalidArgumentError } from "../../common/errors.js";
import { assertPort, type PortProtocol, type UpPort, type UpRequest, type UpSession } from "../../definition/index.js";
import type { ForwardAgent, ForwardHandle } from "../../forward/index.js";
import type { HostAdapter } from "../host-adapter.js";
import type { ServiceLease } from "./service-registry.js";

const log = debug("service");

export interface PortMapping {
  frontend: number;
  backend: number;
  protocol: PortProtocol;
}

/** The bind address an `up` request asks for (default 127.0.0.1), validated. */
export function upBindAddress(request: UpRequest): string {
  const bind = request.bind ?? "127.0.0.1";
  if (isIP(bind) === 0) throw new InvalidArgumentError(`invalid bind address ${JSON.stringify(bind)}: use an IP address such as 127.0.0.1`);
  return bind;
}

/** Explicit mappings, or every exposed port on the same host port (`random`: free ports). */
export async function upMappings(request: UpRequest, exposedPorts: () => Promise<{ port: number; protocol: PortProtocol }[]>): Promise<PortMapping[]> {
  if (request.ports !== undefined) {
    if (!Array.isArray(request.ports) || request.ports.length === 0) throw new InvalidArgumentError("up({ ports }) needs at least one port mapping");
    return request.ports.map((p) => {
      assertPort(p?.backend, "backend port");
      if (p.frontend !== undefined) assertPort(p.frontend, "frontend port");
      const protocol = p.protocol ?? "TCP";
      if (protocol !== "TCP" && protocol !== "UDP") throw new InvalidArgumentError(`invalid protocol ${JSON.stringify(protocol)}`);
      return { frontend: request.random ? 0 : (p.frontend ?? p.backend), backend: p.backend, protocol };
    });
  }
  const ports = await exposedPorts();
  if (ports.length === 0) throw new InvalidArgumentError("the service exposes no ports: use withExposedPort() or up({ ports })");
  return ports.map((p) => ({ frontend: request.random ? 0 : p.port, backend: p.port, protocol: p.protocol }));
}

/** Forwards each mapping to the leased service; on failure closes what was opened and releases the lease. */
export async function forwardUp(
  lease: ServiceLease<{ ip: string; exited: Promise<unknown> }>,
  mappings: PortMapping[],
  opts: {
    bind: string;
    host: HostAdapter;
    agent: () => Promise<ForwardAgent>;
    signal?: AbortSignal | undefined;
    /** Holds the session while it is open: added before anything can close it, removed once it has closed. */
    open?: Set<UpSession>;
  },
): Promise<UpSession> {
  const { bind, host, signal } = opts;
  const handles: ForwardHandle[] = [];
  const service = lease.service;
  const ports: UpPort[] = [];
  const close = async () => {
    await Promise.all(handles.map((h) => h.close().catch((err: unknown) => log("up: close: %s", err))));
    lease.release();
  };
  try {
    const agent = await opts.agent();
    for (const m of mappings) {
      if (m.protocol === "UDP") {
        const socket = await host.bindUdp(bind, m.frontend, signal);
        try {
          const frontend = socket.address().port;
          handles.push(await agent.forwardDatagrams(socket, { ip: service.ip, port: m.backend }, signal ? { signal } : {}));
          ports.push({ frontend, backend: m.backend, protocol: "UDP" });
        } catch (err) {
          socket.close();
          throw err;
        }
        continue;
      }
      const server = await host.listenTcp(bind, m.frontend, signal);
      try {
        const address = server.address();
        const frontend = typeof address === "object" && address ? address.port : m.frontend;
        handles.push(await agent.forwardListener(server, { ip: service.ip, port: m.backend }, signal ? { signal } : {}));
        ports.push({ frontend, backend: m.backend, protocol: m.protocol });
      } catch (err) {
        server.close();
        throw err;
      }
    }
  } catch (err) {
    await close();
    throw err;
  }
  let closing: Promise<void> | undefined;
  const session: UpSession = { ports, close: () => (closing ??= close().finally(() => opts.open?.delete(session))) };
  opts.open?.add(session);
  void service.exited.then(() => session.close()); // a dead service's ports are freed at once
  return session;
}
