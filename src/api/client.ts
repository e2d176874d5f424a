// `Client`: one session with an engine. Hands out builders; closing it stops what the session started.
import { CancelledError } from "../common/errors.js";
import type { Engine } from "../definition/index.js";
import { CacheVolume } from "./cache-volume.js";
import { Container } from "./container.js";
import type { EngineSource } from "./engine-source.js";
import { Host, parseServiceUri } from "./host.js";
import type { Service } from "./service.js";

export class Client implements EngineSource {
  readonly #engine: Promise<Engine>;
  #closed = false;
  #closing: Promise<void> | undefined;

  /** @internal Use `connect()`. */
  constructor(engine: Promise<Engine>) {
    this.#engine = engine;
    // An engine that fails to start is reported by the first call that needs it, not as an unhandled rejection.
    engine.catch(() => {});
  }

  /** @internal */
  async engine(): Promise<Engine> {
    if (this.#closed) throw new CancelledError("the client is closed");
    return this.#engine;
  }

  /** A new, empty container definition; start it with `.from(ref)`. */
  container(): Container {
    return new Container(this);
  }

  /** A named cache volume, shared across sessions and processes. */
  cacheVolume(name: string): CacheVolume {
    return new CacheVolume(name);
  }

  /** The caller's host: its directories and services. */
  host(): Host {
    return new Host(this);
  }

  /** A host service from a URI such as "tcp://localhost:3306" (what the CLI takes). */
  service(uri: string): Service {
    const { host, port } = parseServiceUri(uri);
    return this.host().service([port], { host });
  }

  /** Stops everything this session started. Idempotent. */
  close(): Promise<void> {
    if (!this.#closing) {
      this.#closed = true;
      this.#closing = this.#engine.then(
        (engine) => engine.close(),
        () => undefined,
      );
    }
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
