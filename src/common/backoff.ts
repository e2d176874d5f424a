// Capped exponential backoff, the one schedule every retry loop uses: by default 100 ms, doubling, capped at 1 s
// (the health check's, DESIGN.md §3); callers pass their own first delay and cap.

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
}

/** The delay before retry number `attempt` (0-based): min(initial × factor^attempt, max). */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const initial = opts.initialMs ?? 100;
  const max = opts.maxMs ?? 1000;
  const factor = opts.factor ?? 2;
  return Math.min(max, initial * Math.pow(factor, Math.max(0, attempt)));
}
