// One session's services, orchestrated: computes a service's digest and hostname, shares its start through the
// registry (bindings, `start()` pins, `up`), stops it on demand and at the session's end, and waits for every
// teardown. How a service starts lives in container-service-start.ts and host-service-start.ts; how a container's
// bindings are taken together in service-bindings.ts; port forwarding for `up` in up-forwarding.ts; reading a run's
// log in service-log-reader.ts.
import { join } from "node:path";
import type { ProgressEvent } from "../../definition/index.js";
import { PendingWork } from "../../common/pending-work.js";
import { debug } from "../../common/debug.js";
import { InvalidArgumentError, NotFoundError, ServiceError } from "../../common/errors.js";
import type { Owner } from "../../common/owner.js";
import type { Paths } from "../../common/paths.js";
import type { ProcessRunner } from "../../common/process-runner.js";
import type { ContainerdClient } from "../../containerd/index.js";
import { digestOf, hostHash, quote, type ContainerDef, type LogsOptions, type ServiceDef, type UpRequest, type UpSession } from "../../definition/index.js";
import type { ForwardAgent } from "../../forward/index.js";
import type { HubNetwork } from "../../network/index.js";
import type { CacheVolumes } from "../cache-volumes.js";
import type { Caller } from "../caller.js";
import type { ResolvedContainer } from "../evaluator.js";
import type { HostAdapter } from "../host-adapter.js";
import type { PlannedBinding } from "../plan.js";
import { startContainerService, type ServiceStartContext } from "./container-service-start.js";
import { startHostService } from "./host-service-start.js";
import type { RunningHostService } from "./running-host-service.js";
import type { RunningService } from "./running-service.js";
import { bindServices, type BoundServices } from "./service-bindings.js";
import { lastRun, recordRun } from "./service-log-index.js";
import { readServiceLog } from "./service-log-reader.js";
import { ServiceLogs } from "./service-logs.js";
import { ServiceRegistry, type ServiceLease } from "./service-registry.js";
import type { SessionNetwork } from "./session-network.js";
import { forwardUp, upBindAddress, upMappings } from "./up-forwarding.js";
import { UpLabels, upLabelEntry } from "./up-labels.js";

export { DEFAULT_HEALTHCHECK_TIMEOUT_MS } from "./container-service-start.js";
export type { BoundServices } from "./service-bindings.js";

const log = debug("service");

/** What the manager needs of the evaluator. */
export interface ContainerBuilder {
  resolve(def: ContainerDef, signal?: AbortSignal): Promise<ResolvedContainer>;
  build(def: ContainerDef, signal?: AbortSignal): Promise<{ resolved: ResolvedContainer }>;
}

export interface ServiceManagerDeps {
  /** Service starts and readiness, for `connect({ onProgress })` and `svc --progress`. */
  onProgress?: ((event: ProgressEvent) => void) | undefined;
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

export class ServiceManager {
  readonly #deps: ServiceManagerDeps;
  readonly #registry: ServiceRegistry<ActiveService>;
  readonly #startContext: ServiceStartContext;
  /** Teardowns still finishing after their services stopped; the session's end waits for them. */
  readonly #finishing = new PendingWork();
  /** `up` sessions not closed yet (each leaves the set when it closes, by its handle or its service's exit). */
  readonly #ups = new Set<UpSession>();
  readonly #upLabels: UpLabels;
  /** Each service's newest run, by definition digest, while its log is open (then its `.run` index finds it). */
  readonly #runs = new Map<string, ServiceLogs>();

  constructor(deps: ServiceManagerDeps) {
    this.#deps = deps;
    this.#registry = new ServiceRegistry({ graceMs: deps.graceMs });
    this.#upLabels = new UpLabels(deps.client);
    this.#startContext = {
      deps,
      bind: (bindings, signal) => this.bind(bindings, signal),
      fullName: (hostname) => this.fullName(hostname),
      track: (id, finished) => this.#track(id, finished),
      openLogs: (key, hostname, id) => this.#openLogs(key, hostname, id),
    };
  }

  /** The service's definition digest: its container's digest, args, custom hostname and log wait. */
  async digest(def: ServiceDef, signal?: AbortSignal): Promise<string> {
    if (def.kind === "host") return digestOf({ kind: "host", host: def.host, ports: def.ports, hostname: def.hostname });
    const resolved = await this.#deps.builder.resolve(def.container, signal);
    const insecureRootCapabilities = def.insecureRootCapabilities === true ? true : undefined; // absent: digests as before
    // waitForLog changes what "ready" means, so it names another service; absent (dropped) when unset.
    return digestOf({ container: resolved.digest, args: def.args, useEntrypoint: def.useEntrypoint, hostname: def.hostname, insecureRootCapabilities, waitForLog: def.waitForLog });
  }

  async hostname(def: ServiceDef, signal?: AbortSignal): Promise<string> {
    return def.hostname ?? hostHash(await this.digest(def, signal));
  }

  /** `<host>.<module>.<session>.svcd.local`: resolves from every container of the session. */
  fullName(hostname: string): string {
    return `${hostname}.${hostHash(this.#deps.moduleId)}.${hostHash(this.#deps.sessionId)}.svcd.local`;
  }

  /** Starts the service if needed and keeps it running until stop(); an aborted call leaves it unpinned. */
  async start(def: ServiceDef, signal?: AbortSignal): Promise<ActiveService> {
    const key = await this.digest(def, signal);
    return this.#registry.pin(key, (k, cancel) => this.#startAny(def, k, cancel), signal);
  }

  /** Stops the service (a start under way included) and resolves once its process has exited. */
  async stop(def: ServiceDef, opts: { kill: boolean }, signal?: AbortSignal): Promise<void> {
    const key = await this.digest(def, signal);
    const hostname = def.hostname ?? hostHash(key);
    await this.#registry.stop(key, opts, new ServiceError({ service: hostname, reason: "stopped (stop() was called) before it was healthy" }));
  }

  /** Starts (or joins) every binding, healthy, and holds them until release(); all or nothing. */
  bind(bindings: PlannedBinding[], signal?: AbortSignal): Promise<BoundServices> {
    return bindServices(bindings, (b, s) => this.#acquire(b.service, s), signal);
  }

  /** Starts the service (or joins it) and forwards host ports to it until the session is closed. */
  async up(def: ServiceDef, request: UpRequest, signal?: AbortSignal): Promise<UpSession> {
    if (def.kind !== "container") throw new InvalidArgumentError("host services cannot be exposed with up()");
    const bind = upBindAddress(request);
    const mappings = await upMappings(request, async () => (await this.#deps.builder.resolve(def.container, signal)).plan.exposedPorts);
    const lease = await this.#acquire(def, signal);
    const session = await forwardUp(lease, mappings, { bind, host: this.#deps.host, agent: this.#deps.agent, signal, open: this.#ups });
    const { service } = lease;
    if (!("containerId" in service)) return session;
    // Mirrored into the container's labels while open, for `svc ps` in any process (every close path runs this).
    const unlabel = this.#upLabels.add(service.containerId, session.ports.map((p) => upLabelEntry(bind, p)));
    const close = session.close;
    session.close = () => close().finally(unlabel);
    return session;
  }

  /**
   * The output of the service's current run, or of its last run in this session once it stopped (found by its
   * `.run` index, also by a later engine of the same session id). `follow` goes on while the run's log is open here.
   */
  async *logs(def: ServiceDef, opts: LogsOptions, signal: AbortSignal): AsyncGenerator<string[], void, undefined> {
    const key = await this.digest(def, signal);
    const hostname = def.hostname ?? hostHash(key);
    const { paths, sessionId } = this.#deps;
    const open = this.#runs.get(key);
    const live = open && !open.ended ? open : undefined;
    let path = live?.path;
    if (!path) {
      const run = await lastRun(paths.serviceLogsDir, sessionId, key);
      if (!run) {
        throw new NotFoundError(
          `service ${hostname} has no logs in session ${quote(sessionId)}: it has not run in this session (or its log was removed after its retention period, or by prune); start it (start(), a binding or up()) first`,
        );
      }
      path = join(paths.serviceLogsDir, `${run.id}.log`);
    }
    yield* readServiceLog({ path, what: `service ${hostname}`, live, follow: opts.follow, tail: opts.tail, signal });
  }

  /** Drops the `start()` pins of a caller that left a shared session. */
  releaseCaller(caller: Caller): void {
    this.#registry.unpinAll(caller.id, caller.graceMs);
  }

  /** @internal For tests: how many `up` sessions are open. */
  get openUpSessions(): number {
    return this.#ups.size;
  }

  /** Stops every service of the session and waits until each is completely torn down. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#ups].map((u) => u.close()));
    await this.#upLabels.settled();
    await this.#registry.closeAll();
    await this.#finishing.drain();
  }

  async #acquire(def: ServiceDef, signal?: AbortSignal): Promise<ServiceLease<ActiveService>> {
    const key = await this.digest(def, signal);
    return this.#registry.acquire(key, (k, cancel) => this.#startAny(def, k, cancel), signal);
  }

  /** A start belongs to the session: it ends with the session or when the registry cancels it (stop()). */
  #startAny(def: ServiceDef, key: string, cancel: AbortSignal): Promise<ActiveService> {
    const signal = AbortSignal.any([this.#deps.sessionSignal, cancel]);
    return def.kind === "host" ? startHostService(this.#startContext, def, key, signal) : startContainerService(this.#startContext, def, key, signal);
  }

  /** A run's log, recorded as its service's newest run (in memory while open, and in the `.run` index). */
  #openLogs(key: string, hostname: string, id: string): ServiceLogs {
    const logs = new ServiceLogs(this.#deps.paths, id);
    try {
      recordRun(this.#deps.paths.serviceLogsDir, key, { id, hostname, sessionId: this.#deps.sessionId });
    } catch (err) {
      log("%s: recording the run: %s", id, err); // logs() of the stopped service will not find it; the run goes on
    }
    this.#runs.set(key, logs);
    void logs.finished.then(() => {
      if (this.#runs.get(key) === logs) this.#runs.delete(key);
    });
    return logs;
  }

  #track(id: string, finished: Promise<void>): void {
    this.#finishing.add(finished.catch((err: unknown) => log("%s: teardown: %s", id, err)));
  }
}
