// The health check's retry schedule: 100 ms, doubling, capped at 1 s (DESIGN.md §3).

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
