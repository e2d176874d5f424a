// A container's bindings, all or nothing: every bound service is acquired (started or joined, healthy) before the
// container runs, and held until release(). If one fails, the acquisitions still under way are cancelled and every
// reference already taken is released, so no other binding's service is kept alive by a run that never happened.
import { setMaxListeners } from "node:events";
import { CancelledError, ServiceError } from "../../common/errors.js";
import type { ServiceLease } from "./service-registry.js";

/** What a binder sees of a bound service. */
export interface BindableService {
  readonly hostname: string;
  readonly ip: string;
  readonly exited: Promise<{ exitCode: number }>;
  readonly logs: { tail(): string };
}

/** The bound services of one container: alias entries for its hosts file, and a signal that fires if one exits. */
export interface BoundServices {
  aliases: { alias: string; ip: string }[];
  /** Aborts with a ServiceError when a bound service exits while the binder runs. */
  signal: AbortSignal;
  /** Releases every reference; idempotent. */
  release(): void;
}

/**
 * Acquires one lease per binding with `acquire` (given a signal that also aborts once another binding has failed).
 * Resolves when all are held; on the first failure, waits for the others to settle, releases what was acquired and
 * rejects with that first error.
 */
export async function bindServices<B extends { alias: string }, S extends BindableService>(
  bindings: readonly B[],
  acquire: (binding: B, signal: AbortSignal) => Promise<ServiceLease<S>>,
  signal?: AbortSignal,
): Promise<BoundServices> {
  const failed = new AbortController();
  const acquireSignal = signal ? AbortSignal.any([signal, failed.signal]) : failed.signal;
  setMaxListeners(0, acquireSignal); // every binding's acquisition waits on it (a client may bind 50 services)
  let first: { error: unknown } | undefined;
  const settled = await Promise.allSettled(
    bindings.map(async (b) => {
      try {
        return { alias: b.alias, lease: await acquire(b, acquireSignal) };
      } catch (error) {
        if (!first) {
          first = { error };
          failed.abort(error);
        }
        throw error;
      }
    }),
  );
  const acquired = settled.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const release = () => {
    for (const { lease } of acquired) lease.release();
  };
  if (first) {
    release();
    throw first.error;
  }
  const exited = new AbortController();
  for (const { lease } of acquired) {
    const svc = lease.service;
    void svc.exited.then(({ exitCode }) => {
      if (!exited.signal.aborted) {
        exited.abort(new ServiceError({ service: svc.hostname, reason: `exited with code ${exitCode} while a client was using it`, exitCode, logs: svc.logs.tail() }));
      }
    });
  }
  return { aliases: acquired.map(({ alias, lease }) => ({ alias, ip: lease.service.ip })), signal: exited.signal, release };
}

/** Bindings acquired in the background while their container is made (bindInBackground). */
export interface PendingBindings {
  /** Settles with the bindings: await it before the container's process starts. */
  readonly bound: Promise<BoundServices>;
  /** Cancels the acquisition if it is still under way, waits for it to settle and releases what it holds. */
  release(): Promise<void>;
}

/**
 * Starts `bind` without waiting for it, so a container's network, snapshot and task are made while its bound
 * services come up (the process still starts only once they are healthy). `release()` is the undo, for the
 * container that was never started as for one that has finished.
 */
export function bindInBackground<B>(
  bind: (bindings: B[], signal: AbortSignal) => Promise<BoundServices>,
  bindings: B[],
  signal?: AbortSignal,
): PendingBindings {
  const cancel = new AbortController();
  const bound = bind(bindings, signal ? AbortSignal.any([signal, cancel.signal]) : cancel.signal);
  bound.catch(() => {}); // its failure reaches the caller through `bound`, or is dropped by release()
  return {
    bound,
    release: async () => {
      cancel.abort(new CancelledError("the container the bindings were for was not started"));
      (await bound.catch(() => undefined))?.release();
    },
  };
}
