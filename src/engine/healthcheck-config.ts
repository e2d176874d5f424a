// The healthcheck a service's plan carries: from the image's HEALTHCHECK (Docker's config form) or from
// `withHealthcheck`, with every timing filled in. Pure: no I/O.
import type { HealthcheckTimings } from "../definition/index.js";
import type { OciHealthcheck } from "../image/index.js";

/** A healthcheck ready to run: the argv exec'd into the service and its schedule, all in milliseconds. */
export interface PlannedHealthcheck {
  args: string[];
  /** Between the end of one try and the start of the next, once the start period is over. */
  intervalMs: number;
  /** Between tries during the start period (Docker's StartInterval; `withHealthcheck` uses intervalMs). */
  startIntervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
}

/** `withHealthcheck`'s defaults: a readiness check wants its answer soon, so the interval is 1 s, not Docker's 30 s. */
export const HEALTHCHECK_DEFAULTS = { intervalMs: 1000, timeoutMs: 30_000, retries: 3, startPeriodMs: 0 } as const;

/** Docker's defaults for an image HEALTHCHECK field left 0 (moby daemon/health.go). */
export const DOCKER_HEALTHCHECK_DEFAULTS = { intervalMs: 30_000, timeoutMs: 30_000, retries: 3, startPeriodMs: 0, startIntervalMs: 5000 } as const;

/** A day: no image's timing is taken past it (a hostile config must not arm a timer Node would fire at once). */
const MAX_MS = 24 * 60 * 60 * 1000;

/** Nanoseconds (Docker's unit) to milliseconds; 0, absent or out-of-range values take `fallback`. */
function fromNanos(ns: number | undefined, fallback: number): number {
  if (ns === undefined || ns <= 0) return fallback;
  return Math.min(MAX_MS, Math.max(1, Math.round(ns / 1e6)));
}

/**
 * The image's HEALTHCHECK as a planned one, or undefined when it has none: `["NONE"]`, an empty Test (Docker:
 * inherit, and nothing is left to inherit from), `["CMD"]` without a command, or a form Docker does not write.
 * `CMD-SHELL` runs under `/bin/sh -c`, as Docker does on Linux.
 */
export function imageHealthcheck(check: OciHealthcheck | undefined): PlannedHealthcheck | undefined {
  if (!check) return undefined;
  const [kind, ...rest] = check.Test;
  let args: string[];
  if (kind === "CMD") args = rest;
  else if (kind === "CMD-SHELL") args = rest.length > 0 && rest.join(" ").trim() !== "" ? ["/bin/sh", "-c", rest.join(" ")] : [];
  else return undefined;
  if (args.length === 0 || args[0] === "") return undefined;
  const d = DOCKER_HEALTHCHECK_DEFAULTS;
  const retries = check.Retries !== undefined && check.Retries > 0 ? Math.min(check.Retries, 1000) : d.retries;
  return {
    args,
    intervalMs: fromNanos(check.Interval, d.intervalMs),
    startIntervalMs: fromNanos(check.StartInterval, d.startIntervalMs),
    timeoutMs: fromNanos(check.Timeout, d.timeoutMs),
    retries,
    startPeriodMs: check.StartPeriod !== undefined && check.StartPeriod > 0 ? fromNanos(check.StartPeriod, 0) : d.startPeriodMs,
  };
}

/** `withHealthcheck(args, timings)` as a planned healthcheck (timings validated by the builder and at the door). */
export function definedHealthcheck(args: readonly string[], timings: HealthcheckTimings): PlannedHealthcheck {
  const d = HEALTHCHECK_DEFAULTS;
  const intervalMs = timings.intervalMs ?? d.intervalMs;
  return {
    args: [...args],
    intervalMs,
    startIntervalMs: intervalMs,
    timeoutMs: timings.timeoutMs ?? d.timeoutMs,
    retries: timings.retries ?? d.retries,
    startPeriodMs: timings.startPeriodMs ?? d.startPeriodMs,
  };
}
