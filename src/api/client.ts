// `Client`: one session with an engine. Hands out builders; closing it stops what the session started.
import { CancelledError, InvalidArgumentError } from "../common/errors.js";
import type { CallOptions, Engine, PruneOptions, PruneResult } from "../definition/index.js";
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

  /**
   * Removes build-cache steps (with their stored outputs) and old service logs that no live session uses, least
   * recently used first. Without options it applies the automatic policy (SVCD_CACHE_KEEP_STORAGE, SVCD_CACHE_MAX_AGE).
   */
  async prune(options: PruneOptions & CallOptions = {}): Promise<PruneResult> {
    const checked = checkPruneOptions(options);
    return (await this.engine()).prune(checked, options.signal ? { signal: options.signal } : {});
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

function checkPruneOptions(options: PruneOptions): PruneOptions {
  if (typeof options !== "object" || options === null) throw new InvalidArgumentError("prune() takes an options object { keepStorageBytes?, olderThanMs?, all? }");
  const out: PruneOptions = {};
  for (const name of ["keepStorageBytes", "olderThanMs"] as const) {
    const value: unknown = options[name];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
      throw new InvalidArgumentError(`prune: ${name} must be a non-negative integer, got ${String(value)}`);
    }
    out[name] = value;
  }
  const all: unknown = options.all;
  if (all !== undefined && typeof all !== "boolean") throw new InvalidArgumentError(`prune: all must be true or false, got ${String(all)}`);
  if (all !== undefined) out.all = all;
  return out;
}
