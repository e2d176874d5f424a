// The in-process engine: evaluates definitions and runs services against one containerd for one session.
import type { ContainerdClient } from "../containerd/index.js";
import { CancelledError } from "../common/errors.js";
import { debug } from "../common/debug.js";
import type { CallOptions, ContainerDef, Engine, ServiceDef, SyncResult, UpRequest, UpSession } from "../definition/index.js";
import type { Evaluator } from "./evaluator.js";
import type { ServiceManager } from "./services/service-manager.js";
import type { SessionResources } from "./session-resources.js";
import type { SessionNetwork } from "./services/session-network.js";

const log = debug("engine");

export interface EmbeddedEngineParts {
  client: ContainerdClient;
  evaluator: Evaluator;
  services: ServiceManager;
  resources: SessionResources;
  network: SessionNetwork;
  /** Aborted when the engine closes: cancels every evaluation and service start still running. */
  session: AbortController;
}

export class EmbeddedEngine implements Engine {
  readonly #parts: EmbeddedEngineParts;
  #closing: Promise<void> | undefined;

  constructor(parts: EmbeddedEngineParts) {
    this.#parts = parts;
  }

  async sync(def: ContainerDef, options: CallOptions = {}): Promise<SyncResult> {
    const { resolved, lastExec } = await this.#parts.evaluator.build(def, this.#signal(options.signal));
    return lastExec ? { digest: resolved.digest, lastExec } : { digest: resolved.digest };
  }

  async readFile(def: ContainerDef, path: string, options: CallOptions = {}): Promise<Buffer> {
    return this.#parts.evaluator.readFile(def, path, this.#signal(options.signal));
  }

  async digest(def: ContainerDef, options: CallOptions = {}): Promise<string> {
    return (await this.#parts.evaluator.resolve(def, this.#signal(options.signal))).digest;
  }

  serviceHostname(def: ServiceDef, options: CallOptions = {}): Promise<string> {
    return this.#parts.services.hostname(def, this.#signal(options.signal));
  }

  async startService(def: ServiceDef, options: CallOptions = {}): Promise<void> {
    await this.#parts.services.start(def, this.#signal(options.signal));
  }

  stopService(def: ServiceDef, stop: { kill: boolean }, options: CallOptions = {}): Promise<void> {
    return this.#parts.services.stop(def, stop, this.#signal(options.signal));
  }

  up(def: ServiceDef, request: UpRequest, options: CallOptions = {}): Promise<UpSession> {
    return this.#parts.services.up(def, request, this.#signal(options.signal));
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const { session, services, resources, client, network, evaluator } = this.#parts;
      session.abort(new CancelledError("the session was closed"));
      await services.closeAll().catch((err) => log("closing services: %s", err));
      // Builds and pulls whose callers gave up may still be cleaning up: they finish before the network goes.
      await evaluator.drain();
      await network.drain();
      await resources.close().catch((err) => log("closing network: %s", err));
      client.close();
    })();
    return this.#closing;
  }

  #signal(signal: AbortSignal | undefined): AbortSignal {
    const session = this.#parts.session.signal;
    if (session.aborted) throw new CancelledError("the session is closed");
    return signal ? AbortSignal.any([signal, session]) : session;
  }
}
