// Who a call into a shared session is made for. Several daemon clients may share one session (DESIGN.md §2): each
// `start()` pin is its caller's, a released service waits the grace period of the caller that released it, and
// progress goes to the caller whose call caused it. The caller travels with the call's async context, so the layers
// in between (evaluator, bindings, pulls) need not pass it along. Embedded engines have no caller: the session is one.
import { AsyncLocalStorage } from "node:async_hooks";
import type { ProgressEvent } from "../definition/index.js";

export interface Caller {
  /** Identity of the holder of pins. */
  readonly id: object;
  /** The caller's serviceGracePeriodMs. */
  readonly graceMs: number;
  readonly onProgress?: ((event: ProgressEvent) => void) | undefined;
}

const storage = new AsyncLocalStorage<Caller>();

/** Runs `work` on behalf of `caller`. */
export function runAsCaller<T>(caller: Caller, work: () => T): T {
  return storage.run(caller, work);
}

export function currentCaller(): Caller | undefined {
  return storage.getStore();
}
