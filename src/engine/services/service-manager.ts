// Starts, shares and stops one session's services: computes a service's digest and hostname, builds its container,
// brings up its own bindings, network, volumes and task, waits until every exposed TCP port accepts a connection
// from inside the hub network, and publishes its names to the session. Binders get leases from the registry.
import { randomBytes } from "node:crypto";
import { debug } from "../../common/debug.js";
import { InvalidArgumentError, ServiceError, SvcdError } from "../../common/errors.js";
import { OWNER } from "../../common/labels.js";
import type { Owner } from "../../common/owner.js";
import type { Paths } from "../../common/paths.js";
import type { ProcessRunner } from "../../common/process-runner.js";
import type { ContainerdClient } from "../../containerd/index.js";
import { assertDnsLabel, assertPort, digestOf, hostHash, type ContainerDef, type ContainerServiceDef, type HostServiceDef, type PortProtocol, type ServiceDef, type UpPort, type UpRequest, type UpSession } from "../../definition/index.js";
import type { ForwardAgent, ForwardHandle } from "../../forward/index.js";
import type { HostAdapter } from "../host-adapter.js";
import { isIP } from "node:net";
import { startContainer } from "../../runtime/index.js";
import type { CacheVolumes } from "../cache-volumes.js";
import type { ResolvedContainer } from "../evaluator.js";
import type { PlannedBinding } from "../plan.js";
import { RunningService } from "./running-service.js";
import { RunningHostService } from "./running-host-service.js";
import { allocateReservedAddress, type HubNetwork } from "../../network/index.js";
import { ServiceLogs } from "./service-logs.js";
import { ServiceRegistry, type ServiceLease } from "./service-registry.js";
import type { SessionNetwork } from "./session-network.js";

const log = debug("service");

/** The health check's default overall timeout. */
export const DEFAULT_HEALTHCHECK_TIMEOUT_MS = 60_000;

/** What the manager needs of the evaluator. */
export interface ContainerBuilder {
  resolve(def: ContainerDef, signal?: AbortSignal): Promise<ResolvedContainer>;
  build(def: ContainerDef, signal?: AbortSignal): Promise<{ resolved: ResolvedContainer }>;
}

export interface ServiceManagerDeps {
  client: ContainerdClient;
  paths: Paths;
  runner: ProcessRunner;
  owner: Owner;
  sessionId: string;
  moduleId: string;
  graceMs: number;
  builder: ContainerBuilder;
  network: SessionNetwork;
  volumes: CacheVolumes;
  agent: () => Promise<ForwardAgent>;
  /** Host-side work (listeners for `up`) done on the caller's side. */
  host: HostAdapter;
  /** The hub (for host services' reserved addresses). */
  resources: { hub(): Promise<HubNetwork> };
  /** Aborted when the session closes. */
  sessionSignal: AbortSignal;
}

/** A running service of either kind, as binders see it. */
export type ActiveService = RunningService | RunningHostService;

/** The bound services of one container: alias entries for its hosts file, and a signal that fires if one exits. */
export interface BoundServices {
  aliases: { alias: string; ip: string }[];
  /** Aborts with a ServiceError when a bound service exits while the binder runs. */
  signal: AbortSignal;
  release(): void;
}

export class ServiceManager {
  readonly #deps: ServiceManagerDeps;
  readonly #registry: ServiceRegistry<ActiveService>;
  /** Teardowns still finishing after their services stopped; the session's end waits for them. */
  readonly #finishing = new Set<Promise<void>>();
  readonly #ups = new Set<UpSession>();

  constructor(deps: ServiceManagerDeps) {
    this.#deps = deps;
    this.#registry = new ServiceRegistry({ graceMs: deps.graceMs });
  }

  /** The service's definition digest: its container's digest, args and custom hostname. */
  async digest(def: ServiceDef, signal?: AbortSignal): Promise<string> {
    if (def.kind === "host") return digestOf({ kind: "host", host: def.host, ports: def.ports, hostname: def.hostname });
    const resolved = await this.#deps.builder.resolve(def.container, signal);
    const insecureRootCapabilities = def.insecureRootCapabilities === true ? true : undefined; // absent: digests as before
    return digestOf({ container: resolved.digest, args: def.args, useEntrypoint: def.useEntrypoint, hostname: def.hostname, insecureRootCapabilities });
  }

  async hostname(def: ServiceDef, signal?: AbortSignal): Promise<string> {
    return def.hostname ?? hostHash(await this.digest(def, signal));
  }

  /** `<host>.<module>.<session>.svcd.local`: resolves from every container of the session. */
  fullName(hostname: string): string {
    return `${hostname}.${hostHash(this.#deps.moduleId)}.${hostHash(this.#deps.sessionId)}.svcd.local`;
  }

  /** Starts the service if needed and keeps it running until stop(). */
  async start(def: ServiceDef, signal?: AbortSignal): Promise<ActiveService> {
    const key = await this.digest(def, signal);
    return this.#registry.pin(key, (k) => this.#startAny(def, k), signal);
  }

  #startAny(def: ServiceDef, key: string): Promise<ActiveService> {
    return def.kind === "host" ? this.#startHost(def, key) : this.#start(def, key);
  }

  /** A host service: a reserved hub address with a listener per port, tunnelled to the caller's host. */
  async #startHost(def: HostServiceDef, key: string): Promise<RunningHostService> {
    const { paths, runner, network, resources } = this.#deps;
    const hostname = def.hostname ?? hostHash(key);
    assertDnsLabel(hostname, "service hostname");
    const hub = await resources.hub();
    const agent = await this.#deps.agent();
    const reserved = await allocateReservedAddress(paths, runner, hub);
    // Only this session's containers may reach the listener (the hub firewall's input hook).
    let unguard: () => Promise<void>;
    try {
      unguard = await network.guard(reserved.ip);
    } catch (err) {
      await reserved.release();
      throw err;
    }
    const address = { ip: reserved.ip, release: async () => { await unguard().catch(() => {}); await reserved.release(); } };
    const id = `svcd-${hostHash(this.#deps.sessionId)}-host-${hostname.slice(0, 24)}-${randomBytes(4).toString("hex")}`;
    const service = await RunningHostService.start({
      key,
      hostname,
      id,
      def,
      address,
      agent,
      logs: new ServiceLogs(paths.serviceLogsDir, id),
      unpublish: () => network.unpublish(id),
      onTeardown: (finished) => this.#track(id, finished),
    });
    try {
      await network.publish(id, address.ip, [hostname, this.fullName(hostname)]);
    } catch (err) {
      await service.stop();
      throw err;
    }
    log("%s: host service %s → %s", id, address.ip, def.host);
    return service;
  }

  async stop(def: ServiceDef, opts: { kill: boolean }, signal?: AbortSignal): Promise<void> {
    await this.#registry.stop(await this.digest(def, signal), opts);
  }

  /** Starts (or joins) every binding, healthy, and holds them until release(). */
  async bind(bindings: PlannedBinding[], signal?: AbortSignal): Promise<BoundServices> {
    const leases: ServiceLease<ActiveService>[] = [];
    const failed = new AbortController();
    const releaseAll = () => {
      for (const l of leases) l.release();
    };
    try {
      const acquired = await Promise.all(
        bindings.map(async (b) => {
          const key = await this.digest(b.service, signal);
          const lease = await this.#registry.acquire(key, (k) => this.#startAny(b.service, k), signal);
          leases.push(lease);
          return { alias: b.alias, lease };
        }),
      );
      for (const { lease } of acquired) {
        const svc = lease.service;
        void svc.exited.then(({ exitCode }) => {
          if (!failed.signal.aborted) {
            failed.abort(new ServiceError({ service: svc.hostname, reason: `exited with code ${exitCode} while a client was using it`, exitCode, logs: svc.logs.tail() }));
          }
        });
      }
      return { aliases: acquired.map(({ alias, lease }) => ({ alias, ip: lease.service.ip })), signal: failed.signal, release: releaseAll };
    } catch (err) {
      releaseAll();
      throw err;
    }
  }

  /**
   * Starts the service (or joins it) and forwards host ports to it: explicit mappings, or every exposed port on the
   * same host port (`random`: free ports). Listeners are made on the caller's side (host adapter) and handed to the
   * agent. Any failure leaves nothing listening and releases the service.
   */
  async up(def: ServiceDef, request: UpRequest, signal?: AbortSignal): Promise<UpSession> {
    if (def.kind !== "container") throw new InvalidArgumentError("host services cannot be exposed with up()");
    const bind = request.bind ?? "127.0.0.1";
    if (isIP(bind) === 0) throw new InvalidArgumentError(`invalid bind address ${JSON.stringify(bind)}: use an IP address such as 127.0.0.1`);
    const mappings = await this.#upMappings(def, request, signal);
    const key = await this.digest(def, signal);
    const lease = await this.#registry.acquire(key, (k) => this.#start(def, k), signal);
    const handles: ForwardHandle[] = [];
    const service = lease.service;
    const ports: UpPort[] = [];
    const close = async () => {
      await Promise.all(handles.map((h) => h.close().catch((err: unknown) => log("up: close: %s", err))));
      lease.release();
    };
    try {
      const agent = await this.#deps.agent();
      for (const m of mappings) {
        if (m.protocol === "UDP") {
          const socket = await this.#deps.host.bindUdp(bind, m.frontend, signal);
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
        const server = await this.#deps.host.listenTcp(bind, m.frontend, signal);
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
    const session: UpSession = { ports, close: () => (closing ??= close()) };
    this.#ups.add(session);
    void lease.service.exited.then(() => session.close()); // a dead service's ports are freed at once
    return session;
  }

  async #upMappings(def: ContainerServiceDef, request: UpRequest, signal?: AbortSignal): Promise<{ frontend: number; backend: number; protocol: PortProtocol }[]> {
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
    const { plan } = await this.#deps.builder.resolve(def.container, signal);
    if (plan.exposedPorts.length === 0) throw new InvalidArgumentError("the service exposes no ports: use withExposedPort() or up({ ports })");
    return plan.exposedPorts.map((p) => ({ frontend: request.random ? 0 : p.port, backend: p.port, protocol: p.protocol }));
  }

  /** Stops every service of the session and waits until each is completely torn down. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#ups].map((u) => u.close()));
    await this.#registry.closeAll();
    while (this.#finishing.size > 0) await Promise.all([...this.#finishing]);
  }

  #track(id: string, finished: Promise<void>): void {
    const done = finished.catch((err: unknown) => log("%s: teardown: %s", id, err));
    this.#finishing.add(done);
    void done.finally(() => this.#finishing.delete(done));
  }

  async #start(def: ContainerServiceDef, key: string): Promise<RunningService> {
    const { client, paths, runner, owner, network, sessionSignal } = this.#deps;
    const signal = sessionSignal;
    const hostname = def.hostname ?? hostHash(key);
    assertDnsLabel(hostname, "service hostname");
    const { resolved } = await this.#deps.builder.build(def.container, signal);
    const { plan, image } = resolved;
    const args = serviceArgs(def, plan.config);
    const id = `svcd-${hostHash(this.#deps.sessionId)}-svc-${hostname.slice(0, 24)}-${randomBytes(4).toString("hex")}`;
    const undo: (() => Promise<void> | void)[] = [];
    const cleanup = async () => {
      for (const fn of undo.reverse()) await Promise.resolve().then(fn).catch((err) => log("%s: cleanup: %s", id, err));
    };
    try {
      // A service's own bindings start with it and stay up while it runs.
      const bound = await this.bind(plan.bindings, signal);
      undo.push(() => bound.release());
      // Cache volumes (a LOCKED one included) are held for the service's whole life.
      const { mounts, volumes } = await this.#deps.volumes.mountPlanned(plan.mounts, signal);
      for (const v of volumes) undo.push(() => v.release());
      const net = await network.attach(id, { hostname, aliases: bound.aliases, signal });
      undo.push(() => net.detach());
      const logs = new ServiceLogs(paths.serviceLogsDir, id);
      undo.push(() => logs.close());
      const task = await startContainer(client, {
        id,
        image: { name: image.name, chainId: resolved.top, snapshotter: image.snapshotter, config: image.config },
        args,
        env: plan.config.env,
        cwd: plan.config.workdir,
        user: plan.config.user || "0:0",
        mounts,
        networkNamespace: net.netnsPath,
        hostsFile: net.hostsPath,
        resolvConf: net.resolvConfPath,
        hostname,
        ...(def.insecureRootCapabilities === true ? { insecureRootCapabilities: true } : {}),
        labels: { [OWNER.kind]: "service" },
        owner,
        paths,
        runner,
        maxOutputBytes: 64 * 1024,
        onStdout: (chunk) => logs.write(chunk),
        onStderr: (chunk) => logs.write(chunk),
        signal,
      });
      undo.push(() => task.delete());
      const names = [hostname, this.fullName(hostname)];
      const service = new RunningService({
        key,
        hostname,
        task,
        network: net,
        logs,
        volumes,
        releaseBindings: () => bound.release(),
        unpublish: () => network.unpublish(id),
        onTeardown: (finished) => this.#track(id, finished),
      });
      undo.length = 0; // from here on, service.stop() owns the teardown
      try {
        await network.publish(id, net.ip, names);
        await this.#healthCheck(service, plan.exposedPorts, def.healthcheckTimeoutMs ?? DEFAULT_HEALTHCHECK_TIMEOUT_MS, bound.signal);
      } catch (err) {
        await service.stop({ kill: true }).catch((e) => log("%s: cleanup after failed start: %s", id, e));
        await service.finished.catch(() => {});
        throw err;
      }
      log("%s: %s healthy at %s", id, hostname, net.ip);
      return service;
    } catch (err) {
      await cleanup();
      throw err;
    }
  }

  /** Waits until every exposed TCP port (without experimentalSkipHealthcheck) accepts a connection. */
  async #healthCheck(service: RunningService, ports: ResolvedContainer["plan"]["exposedPorts"], timeoutMs: number, bindingsFailed: AbortSignal): Promise<void> {
    const tcp = ports.filter((p) => p.protocol === "TCP" && !p.skipHealthcheck);
    if (tcp.length === 0) return;
    const agent = await this.#deps.agent();
    const stop = new AbortController();
    const signals = AbortSignal.any([stop.signal, bindingsFailed, this.#deps.sessionSignal]);
    // An exit ends the wait at once (the probes would only notice at their next attempt); the catch below says why.
    const exited = service.exited.then(() => Promise.reject(new Error("exited")));
    exited.catch(() => {});
    try {
      await Promise.race([
        exited,
        Promise.all(tcp.map((p) => agent.waitForPort(service.ip, p.port, { timeoutMs, signal: signals, shouldStop: () => service.exitCode !== undefined }))),
      ]);
    } catch (err) {
      // RunningService records the exit code before `exited` resolves.
      if (service.exitCode !== undefined) {
        throw new ServiceError({ service: service.hostname, reason: `exited with code ${service.exitCode} before it was healthy`, exitCode: service.exitCode, logs: service.logs.tail() });
      }
      if (SvcdError.is(err) && err.code === "TIMEOUT") {
        throw new ServiceError(
          { service: service.hostname, reason: `health check timed out after ${timeoutMs} ms: ports ${tcp.map((p) => p.port).join(", ")} never accepted a connection`, logs: service.logs.tail() },
          { cause: err },
        );
      }
      if (bindingsFailed.aborted) throw bindingsFailed.reason;
      throw err;
    } finally {
      stop.abort();
    }
  }
}

function serviceArgs(def: ContainerServiceDef, config: { entrypoint: string[]; defaultArgs: string[] }): string[] {
  const args = def.args ?? config.defaultArgs;
  const full = def.useEntrypoint || def.args === undefined ? [...config.entrypoint, ...args] : [...args];
  if (full.length === 0) throw new InvalidArgumentError("the service has no command: pass asService({ args }) or set an entrypoint or default args");
  return full;
}

