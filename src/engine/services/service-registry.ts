// One session's running services, de-duplicated by definition digest: concurrent binders share one start, each
// binding holds a reference, and an unreferenced, unpinned service is stopped after the grace period. Pure
// bookkeeping: how a service starts and stops is the `ServiceStarter`'s business.
import { debug } from "../../common/debug.js";
import { CancelledError } from "../../common/errors.js";
import { abortable } from "../../common/abortable.js";

const log = debug("service");

/** A running service as the registry sees it. */
export interface RegisteredService {
  readonly key: string;
  /** Resolves when the service's process exits (for any reason). */
  readonly exited: Promise<unknown>;
  stop(opts: { kill: boolean }): Promise<void>;
}

export type ServiceStarter<S extends RegisteredService> = (key: string) => Promise<S>;

interface Entry<S extends RegisteredService> {
  starting: Promise<S>;
  refs: number;
  pinned: boolean;
  graceTimer?: NodeJS.Timeout | undefined;
  stopping?: Promise<void> | undefined;
}

export interface ServiceRegistryOptions {
  /** How long an unreferenced service keeps running. */
  graceMs: number;
}

/** A reference on a service; `release()` is idempotent. */
export interface ServiceLease<S> {
  service: S;
  release(): void;
}

export class ServiceRegistry<S extends RegisteredService> {
  readonly #entries = new Map<string, Entry<S>>();
  readonly #graceMs: number;
  #closed = false;

  constructor(opts: ServiceRegistryOptions) {
    this.#graceMs = opts.graceMs;
  }

  /** Starts the service (or joins a start under way) and holds a reference until release(). */
  async acquire(key: string, start: ServiceStarter<S>, signal?: AbortSignal): Promise<ServiceLease<S>> {
    const entry = this.#entry(key, start);
    entry.refs++;
    this.#cancelGrace(entry);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      entry.refs--;
      this.#maybeScheduleStop(key, entry);
    };
    try {
      const service = await abortable(entry.starting, signal, "waiting for the service");
      return { service, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /** Starts the service if needed and keeps it running until `stop()`. */
  async pin(key: string, start: ServiceStarter<S>, signal?: AbortSignal): Promise<S> {
    const entry = this.#entry(key, start);
    entry.pinned = true;
    this.#cancelGrace(entry);
    try {
      return await abortable(entry.starting, signal, "waiting for the service");
    } catch (err) {
      entry.pinned = false;
      throw err;
    }
  }

  /** Stops the service now (whoever holds it) and waits for its process to exit. */
  async stop(key: string, opts: { kill: boolean }): Promise<void> {
    const entry = this.#entries.get(key);
    if (!entry) return;
    entry.pinned = false;
    await this.#stop(key, entry, opts);
  }

  /** The running (or starting) service for a key, if any. */
  get(key: string): Promise<S> | undefined {
    return this.#entries.get(key)?.starting;
  }

  /** Stops every service of the session. */
  async closeAll(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#entries].map(([key, entry]) => this.#stop(key, entry, { kill: false }).catch((err) => log("%s: stop: %s", key, err))));
  }

  #entry(key: string, start: ServiceStarter<S>): Entry<S> {
    if (this.#closed) throw new CancelledError("the session is closed");
    let entry = this.#entries.get(key);
    if (entry && !entry.stopping) return entry;
    const starting = start(key);
    const created: Entry<S> = { starting, refs: 0, pinned: false };
    this.#entries.set(key, created);
    starting.then(
      (service) => {
        // A service that exits by itself leaves the registry: the next binder starts a fresh one.
        void service.exited.finally(() => {
          if (this.#entries.get(key) === created && !created.stopping) {
            this.#cancelGrace(created);
            this.#entries.delete(key);
            void service.stop({ kill: true }).catch((err) => log("%s: cleanup after exit: %s", key, err));
          }
        });
      },
      () => {
        if (this.#entries.get(key) === created) this.#entries.delete(key);
      },
    );
    entry = created;
    return entry;
  }

  #cancelGrace(entry: Entry<S>): void {
    if (entry.graceTimer) clearTimeout(entry.graceTimer);
    entry.graceTimer = undefined;
  }

  #maybeScheduleStop(key: string, entry: Entry<S>): void {
    if (entry.refs > 0 || entry.pinned || entry.stopping || this.#entries.get(key) !== entry) return;
    this.#cancelGrace(entry);
    entry.graceTimer = setTimeout(() => {
      entry.graceTimer = undefined;
      if (entry.refs === 0 && !entry.pinned) void this.#stop(key, entry, { kill: false }).catch((err) => log("%s: stop: %s", key, err));
    }, this.#graceMs);
    entry.graceTimer.unref();
  }

  #stop(key: string, entry: Entry<S>, opts: { kill: boolean }): Promise<void> {
    this.#cancelGrace(entry);
    entry.stopping ??= (async () => {
      try {
        const service = await entry.starting;
        await service.stop(opts);
      } catch {
        // A service that failed to start has nothing left to stop.
      } finally {
        if (this.#entries.get(key) === entry) this.#entries.delete(key);
      }
    })();
    return entry.stopping;
  }
}
