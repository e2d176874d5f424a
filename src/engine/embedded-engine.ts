// The in-process engine: evaluates definitions against one containerd for one session.
import type { ContainerdClient } from "../containerd/index.js";
import { CancelledError } from "../common/errors.js";
import type { CallOptions, ContainerDef, Engine, SyncResult } from "../definition/index.js";
import type { Evaluator } from "./evaluator.js";

export class EmbeddedEngine implements Engine {
  readonly #client: ContainerdClient;
  readonly #evaluator: Evaluator;
  // Aborted on close: every evaluation still running is cancelled with it.
  readonly #closed = new AbortController();
  #closing: Promise<void> | undefined;

  constructor(client: ContainerdClient, evaluator: Evaluator) {
    this.#client = client;
    this.#evaluator = evaluator;
  }

  async sync(def: ContainerDef, options: CallOptions = {}): Promise<SyncResult> {
    const { resolved, lastExec } = await this.#evaluator.build(def, this.#signal(options.signal));
    return lastExec ? { digest: resolved.digest, lastExec } : { digest: resolved.digest };
  }

  async readFile(def: ContainerDef, path: string, options: CallOptions = {}): Promise<Buffer> {
    return this.#evaluator.readFile(def, path, this.#signal(options.signal));
  }

  async digest(def: ContainerDef, options: CallOptions = {}): Promise<string> {
    return (await this.#evaluator.resolve(def, this.#signal(options.signal))).digest;
  }

  close(): Promise<void> {
    if (!this.#closing) {
      this.#closed.abort(new CancelledError("the session was closed"));
      this.#closing = Promise.resolve().then(() => this.#client.close());
    }
    return this.#closing;
  }

  #signal(signal: AbortSignal | undefined): AbortSignal {
    if (this.#closed.signal.aborted) throw new CancelledError("the session is closed");
    return signal ? AbortSignal.any([signal, this.#closed.signal]) : this.#closed.signal;
  }
}
