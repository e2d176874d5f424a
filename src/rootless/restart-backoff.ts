// When the supervisor restarts a containerd that died: at once-ish the first time, slower while it keeps dying,
// back to fast once a run lasted long enough to count as healthy. Pure, so the policy is unit-tested.
import { backoffDelay } from "../common/backoff.js";

export interface RestartBackoffOptions {
  /** First delay (default 100 ms), doubled per consecutive quick death up to maxMs (default 10 s). */
  initialMs?: number;
  maxMs?: number;
  /** A run at least this long (default 30 s) resets the delay to initialMs. */
  stableMs?: number;
}

/** The delay before each restart, given how long the run that just ended lasted. */
export class RestartBackoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly stableMs: number;
  private failures = 0;

  constructor(opts: RestartBackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 100;
    this.maxMs = opts.maxMs ?? 10_000;
    this.stableMs = opts.stableMs ?? 30_000;
  }

  /** The pause before restarting a process that ran for `ranMs`. */
  next(ranMs: number): number {
    if (ranMs >= this.stableMs) this.failures = 0;
    const delay = backoffDelay(this.failures, { initialMs: this.initialMs, maxMs: this.maxMs });
    this.failures++;
    return delay;
  }
}
