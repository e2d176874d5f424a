// The in-process engine: evaluates definitions and runs services against one containerd for one session. Every
// definition is validated whole at this door (assertContainerDef / assertServiceDef): the builders check each call,
// but the daemon's wire (or any hand-made value) reaches the engine without them, and must be refused before
// anything is created.
import { CancelledError, throwIfAborted } from "../common/errors.js";
import { debug } from "../common/debug.js";
import {
  assertContainerDef,
  assertLogsOptions,
  assertServiceDef,
  type CallOptions,
  type ContainerDef,
  type Engine,
  type LogsOptions,
  type PruneOptions,
  type PruneResult,
  type ServiceDef,
  type SyncResult,
  type UpRequest,
  type UpSession,
} from "../definition/index.js";
import type { BuildCache } from "./build-cache.js";
import type { Caller } from "./caller.js";
import type { EngineCore } from "./engine-core.js";
import type { Evaluator } from "./evaluator.js";
import type { ServiceManager } from "./services/service-manager.js";
import type { SessionNetwork } from "./services/session-network.js";

const log = debug("engine");

export interface EmbeddedEngineParts {
  sessionId: string;
  moduleId: string;
  /** The machine-facing half (containerd, hub, agent, GC), shared with the process's other sessions. */
  core: EngineCore;
  evaluator: Evaluator;
  services: ServiceManager;
  network: SessionNetwork;
  cache: BuildCache;
  /** Aborted when the engine closes: cancels every evaluation and service start still running. */
  session: AbortController;
  /** Runs once the session is torn down (the embedded engine closes its core there). */
  afterClose(): Promise<void>;
}

export class EmbeddedEngine implements Engine {
  readonly #parts: EmbeddedEngineParts;
  #closing: Promise<void> | undefined;

  constructor(parts: EmbeddedEngineParts) {
    this.#parts = parts;
  }

  async sync(def: ContainerDef, options: CallOptions = {}): Promise<SyncResult> {
    assertContainerDef(def);
    const signal = this.#signal(options.signal);
    const { resolved, lastExec } = await this.#parts.evaluator.build(def, signal);
    return lastExec ? { digest: resolved.digest, lastExec: await lastExec.read(signal) } : { digest: resolved.digest };
  }

  async readFile(def: ContainerDef, path: string, options: CallOptions = {}): Promise<Buffer> {
    assertContainerDef(def);
    return this.#parts.evaluator.readFile(def, path, this.#signal(options.signal));
  }

  async digest(def: ContainerDef, options: CallOptions = {}): Promise<string> {
    assertContainerDef(def);
    return (await this.#parts.evaluator.resolve(def, this.#signal(options.signal))).digest;
  }

  async serviceHostname(def: ServiceDef, options: CallOptions = {}): Promise<string> {
    assertServiceDef(def);
    return this.#parts.services.hostname(def, this.#signal(options.signal));
  }

  async startService(def: ServiceDef, options: CallOptions = {}): Promise<void> {
    assertServiceDef(def);
    await this.#parts.services.start(def, this.#signal(options.signal));
  }

  async stopService(def: ServiceDef, stop: { kill: boolean }, options: CallOptions = {}): Promise<void> {
    assertServiceDef(def);
    return this.#parts.services.stop(def, stop, this.#signal(options.signal));
  }

  async up(def: ServiceDef, request: UpRequest, options: CallOptions = {}): Promise<UpSession> {
    assertServiceDef(def);
    return this.#parts.services.up(def, request, this.#signal(options.signal));
  }

  async *serviceLogs(def: ServiceDef, opts: LogsOptions, options: CallOptions = {}): AsyncGenerator<string[], void, undefined> {
    assertServiceDef(def);
    assertLogsOptions(opts, "logs options");
    yield* this.#parts.services.logs(def, { follow: opts.follow, tail: opts.tail }, this.#signal(options.signal));
  }

  /** @internal For tests: how many `up` sessions are open. */
  get openUpSessions(): number {
    return this.#parts.services.openUpSessions;
  }

  get sessionId(): string {
    return this.#parts.sessionId;
  }

  get moduleId(): string {
    return this.#parts.moduleId;
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Drops every `start()` pin of a caller that left a shared session; each service then waits out its grace period. */
  releaseCaller(caller: Caller): void {
    this.#parts.services.releaseCaller(caller);
  }

  async prune(options: PruneOptions, call: CallOptions = {}): Promise<PruneResult> {
    const signal = this.#signal(call.signal);
    const { keepStorageBytes, olderThanMs, all } = options;
    const explicit = keepStorageBytes !== undefined || olderThanMs !== undefined || all === true;
    const { pruner, policy, pruneLogs } = this.#parts.core;
    const cache = await pruner.run(explicit ? { criteria: { keepStorageBytes, olderThanMs } } : { policy }, { signal });
    // Logs go by age only: those of services gone for longer than olderThanMs (all: every stopped one; no limits:
    // the retention period); a storage budget alone is the build cache's.
    const logs = all === true || olderThanMs !== undefined || !explicit ? await pruneLogs(all === true ? 0 : olderThanMs) : { removed: 0, freedBytes: 0 };
    throwIfAborted(signal);
    return { removed: cache.removed + logs.removed, freedBytes: cache.freedBytes + logs.freedBytes };
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const { session, services, network, evaluator, cache } = this.#parts;
      session.abort(new CancelledError("the session was closed"));
      await services.closeAll().catch((err) => log("closing services: %s", err));
      // Builds and pulls whose callers gave up may still be cleaning up: they finish before the network goes.
      await evaluator.drain();
      await network.drain();
      await cache.close().catch((err) => log("closing the build cache: %s", err));
      await this.#parts.afterClose().catch((err) => log("closing the engine: %s", err));
    })();
    return this.#closing;
  }

  #signal(signal: AbortSignal | undefined): AbortSignal {
    const session = this.#parts.session.signal;
    if (session.aborted) throw new CancelledError("the session is closed");
    return signal ? AbortSignal.any([signal, session]) : session;
  }
}
