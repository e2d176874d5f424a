// One session's running services, de-duplicated by definition digest: concurrent binders share one start, each
// binding holds a reference, and an unreferenced, unpinned service is stopped after the grace period. Pure
// bookkeeping: how a service starts and stops is the `ServiceStarter`'s business.
//
// Invariants: a start belongs to the session, not to whoever asked first — a caller's abort ends only its own wait
// (and drops its reference, or its pin request); a `start()` pins only once it has succeeded; `stop()` (or the
// session's end) during a start cancels that start, and its waiters fail with the stop's reason.
import { debug } from "../../common/debug.js";
import { CancelledError } from "../../common/errors.js";
import { abortable } from "../../common/abortable.js";
import { currentCaller } from "../caller.js";

const log = debug("service");

/** A running service as the registry sees it. */
export interface RegisteredService {
  readonly key: string;
  /** Resolves when the service's process exits (for any reason). */
  readonly exited: Promise<unknown>;
  /** Idempotent; a later call with `kill` escalates a stop under way. */
  stop(opts: { kill: boolean }): Promise<void>;
}

/** Starts the service for `key`; `signal` aborts when the start is no longer wanted (stop(), session closed). */
export type ServiceStarter<S extends RegisteredService> = (key: string, signal: AbortSignal) => Promise<S>;

interface Entry<S extends RegisteredService> {
  starting: Promise<S>;
  started: boolean;
  /** Aborted by stop() or closeAll() while the start is under way. */
  cancel: AbortController;
  refs: number;
  /** Who pinned it with start(): the callers of a shared session (the session itself for an embedded engine). */
  pins: Set<object>;
  /** The grace period of whoever released it last (the registry's when no caller is known). */
  graceMs?: number | undefined;
  /** start() calls still waiting: they hold the service like references until they pin it or give up. */
  pinning: number;
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

/** The pin holder of calls made without a caller (an embedded engine's one session). */
const SESSION = {};

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
    const graceMs = currentCaller()?.graceMs;
    entry.refs++;
    this.#cancelGrace(entry);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      entry.refs--;
      entry.graceMs = graceMs;
      this.#maybeScheduleStop(key, entry);
    };
    try {
      const service = await this.#wait(entry, signal);
      return { service, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /** Starts the service if needed and keeps it running until `stop()`; pinned only if the start succeeds in time. */
  async pin(key: string, start: ServiceStarter<S>, signal?: AbortSignal): Promise<S> {
    const entry = this.#entry(key, start);
    const holder = currentCaller()?.id ?? SESSION;
    entry.pinning++;
    this.#cancelGrace(entry);
    try {
      const service = await this.#wait(entry, signal);
      entry.pins.add(holder);
      return service;
    } finally {
      entry.pinning--;
      this.#maybeScheduleStop(key, entry);
    }
  }

  /** Stops the service now (whoever holds it, a start under way included) and waits for its process to exit. */
  async stop(key: string, opts: { kill: boolean }, reason?: unknown): Promise<void> {
    const entry = this.#entries.get(key);
    if (!entry) return;
    entry.pins.clear();
    await this.#stop(key, entry, opts, reason ?? new CancelledError("the service was stopped while it started"));
  }

  /** Drops every pin `holder` made; what nothing else holds stops after `graceMs`. */
  unpinAll(holder: object, graceMs: number): void {
    for (const [key, entry] of this.#entries) {
      if (!entry.pins.delete(holder)) continue;
      entry.graceMs = graceMs;
      this.#maybeScheduleStop(key, entry);
    }
  }

  /** The running (or starting) service for a key, if any. */
  get(key: string): Promise<S> | undefined {
    return this.#entries.get(key)?.starting;
  }

  /** Stops every service of the session (cancelling starts under way). */
  async closeAll(): Promise<void> {
    this.#closed = true;
    const reason = new CancelledError("the session was closed");
    await Promise.all([...this.#entries].map(([key, entry]) => this.#stop(key, entry, { kill: false }, reason).catch((err) => log("%s: stop: %s", key, err))));
  }

  async #wait(entry: Entry<S>, signal: AbortSignal | undefined): Promise<S> {
    try {
      return await abortable(entry.starting, signal, "waiting for the service");
    } catch (err) {
      // A start cancelled by stop() or the session's end fails its waiters with that reason, whatever it threw.
      if (entry.cancel.signal.aborted && !signal?.aborted) throw entry.cancel.signal.reason;
      throw err;
    }
  }

  #entry(key: string, start: ServiceStarter<S>): Entry<S> {
    if (this.#closed) throw new CancelledError("the session is closed");
    const existing = this.#entries.get(key);
    if (existing && !existing.stopping) return existing;
    const cancel = new AbortController();
    const starting = Promise.resolve().then(() => start(key, cancel.signal));
    const created: Entry<S> = { starting, started: false, cancel, refs: 0, pins: new Set(), pinning: 0 };
    this.#entries.set(key, created);
    starting.then(
      (service) => {
        created.started = true;
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
        if (this.#entries.get(key) === created) {
          this.#cancelGrace(created);
          this.#entries.delete(key);
        }
      },
    );
    return created;
  }

  #cancelGrace(entry: Entry<S>): void {
    if (entry.graceTimer) clearTimeout(entry.graceTimer);
    entry.graceTimer = undefined;
  }

  #held(entry: Entry<S>): boolean {
    return entry.refs > 0 || entry.pins.size > 0 || entry.pinning > 0;
  }

  #maybeScheduleStop(key: string, entry: Entry<S>): void {
    if (this.#held(entry) || entry.stopping || this.#entries.get(key) !== entry) return;
    this.#cancelGrace(entry);
    entry.graceTimer = setTimeout(() => {
      entry.graceTimer = undefined;
      if (!this.#held(entry)) {
        void this.#stop(key, entry, { kill: false }, new CancelledError("nothing uses the service any more")).catch((err) => log("%s: stop: %s", key, err));
      }
    }, entry.graceMs ?? this.#graceMs);
    entry.graceTimer.unref();
  }

  /** Every caller gets a promise that resolves once the process has exited; a later `kill` escalates. */
  #stop(key: string, entry: Entry<S>, opts: { kill: boolean }, reason: unknown): Promise<void> {
    this.#cancelGrace(entry);
    if (!entry.started && !entry.cancel.signal.aborted) entry.cancel.abort(reason);
    const run = (async () => {
      try {
        const service = await entry.starting;
        await service.stop(opts);
      } catch {
        // A start that failed (or was cancelled) has already undone itself: nothing is left to stop.
      } finally {
        if (this.#entries.get(key) === entry) this.#entries.delete(key);
      }
    })();
    entry.stopping ??= run;
    return run;
  }
}
