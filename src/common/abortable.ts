// Waiting on shared work without owning it: a caller's abort ends its own wait, never the work other callers share.
import { CancelledError } from "./errors.js";

/** Resolves or rejects with `work`, or rejects with CancelledError (`what` cancelled) when `signal` aborts first. */
export function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined, what = "operation"): Promise<T> {
  if (!signal) return work;
  // Always a rejection, never a synchronous throw: callers chain on the result.
  if (signal.aborted) return Promise.reject(new CancelledError(`${what} cancelled`, { cause: signal.reason }));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CancelledError(`${what} cancelled`, { cause: signal.reason }));
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
