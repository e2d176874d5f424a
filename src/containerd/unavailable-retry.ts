// Riding out a containerd restart: a call that failed because containerd was not answering (UNAVAILABLE) is tried
// again with backoff until it answers or a time budget is spent. Only for idempotent calls (deletes, kills, Wait):
// a call that may have taken effect before the connection dropped must not be repeated blindly.
import { setTimeout as sleep } from "node:timers/promises";
import { CancelledError, hasCode } from "../common/errors.js";
import { debug } from "../common/debug.js";
import { backoffDelay } from "../common/backoff.js";

const log = debug("containerd");

/** Default time a retried call may keep waiting for containerd to come back. */
export const DEFAULT_RETRY_BUDGET_MS = 60_000;

/** Time and sleep, injectable so that unit tests run without real waiting. */
export interface RetryClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: RetryClock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, undefined, signal ? { signal } : {}),
};

export interface RetryOptions {
  /** Give up (rethrow the last error) once this much time has passed since the first failure; default 60 s. */
  budgetMs?: number;
  /** An absolute deadline (clock time) shared by several calls; wins over budgetMs when earlier. */
  deadline?: number;
  /** First pause (default 100 ms), doubled after each failure up to maxDelayMs (default 2 s). */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /**
   * An attempt that ran at least this long before failing had reached containerd (an open-ended call such as
   * Tasks.Wait): its failure starts a fresh budget and backoff instead of counting against the old ones.
   */
  resetAfterMs?: number;
  signal?: AbortSignal;
  clock?: RetryClock;
  /** Names the call in debug lines. */
  what?: string;
}

/** True when `err` says containerd did not answer (it is down, restarting, or the connection dropped). */
export function isUnavailable(err: unknown): boolean {
  return hasCode(err, "UNAVAILABLE");
}

/** Runs `fn`, retrying while it fails with UNAVAILABLE; any other error, an abort or a spent budget ends it. */
export async function retryWhileUnavailable<T>(fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const clock = opts.clock ?? realClock;
  const initial = opts.initialDelayMs ?? 100;
  const max = opts.maxDelayMs ?? 2000;
  let deadline: number | undefined;
  for (let attempt = 0; ; attempt++) {
    const started = clock.now();
    try {
      return await fn();
    } catch (err) {
      if (!isUnavailable(err) || opts.signal?.aborted) throw err;
      if (opts.resetAfterMs !== undefined && clock.now() - started >= opts.resetAfterMs) {
        deadline = undefined;
        attempt = 0;
      }
      deadline ??= Math.min(clock.now() + (opts.budgetMs ?? DEFAULT_RETRY_BUDGET_MS), opts.deadline ?? Infinity);
      const delay = Math.min(backoffDelay(attempt, { initialMs: initial, maxMs: max }), deadline - clock.now());
      if (delay <= 0) throw err;
      log("%s: containerd unavailable, retry %d in %d ms", opts.what ?? "call", attempt + 1, delay);
      try {
        await clock.sleep(delay, opts.signal);
      } catch (abortErr) {
        throw new CancelledError(`${opts.what ?? "containerd call"}: cancelled while waiting for containerd`, { cause: opts.signal?.reason ?? abortErr });
      }
    }
  }
}
