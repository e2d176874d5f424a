// Checks of the readiness options beyond TCP ports (issue 11): `withHealthcheck(args, timings)` and
// `asService({ waitForLog })`. The builders and the whole-definition check (validate-def.ts) share them, so a
// definition off the daemon's wire meets the same rules as one a builder made.
import { InvalidArgumentError } from "../common/errors.js";
import type { HealthcheckTimings, LogWaitDef } from "./container-def.js";
import { assertArgs, assertOptions, quote } from "./validate.js";

/** The longest interval, per-try timeout or start period a healthcheck may ask for (a day; timers cap at ~24.8). */
export const MAX_HEALTHCHECK_MS = 24 * 60 * 60 * 1000;
/** The most consecutive failures a healthcheck may wait for. */
export const MAX_HEALTHCHECK_RETRIES = 1000;
/** The longest `waitForLog` pattern, in characters (lines are matched as the log tail keeps them: 4 096 characters). */
export const MAX_LOG_PATTERN_CHARS = 1024;
/** The most matching lines `waitForLog` may wait for. */
export const MAX_LOG_TIMES = 100_000;

const TIMINGS = ["intervalMs", "timeoutMs", "retries", "startPeriodMs"] as const;

/** A healthcheck command: a non-empty array of non-empty strings (run as is in the service, no shell added). */
export function assertHealthcheckArgs(args: unknown, what: string): asserts args is string[] {
  assertArgs(args, what);
  if (args.length === 0) throw new InvalidArgumentError(`${what} must not be empty: give the command to run, e.g. ["sh", "-c", "wget -q -O- http://localhost:8080/health"]`);
  args.forEach((a, i) => {
    if (a === "") throw new InvalidArgumentError(`${what}[${i}] must not be an empty string`);
  });
}

function assertInteger(value: unknown, what: string, min: number, max: number, unit: string): asserts value is number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`invalid ${what} ${quote(value)}: use an integer from ${min} to ${max}${unit}`);
  }
}

/** Validates `withHealthcheck`'s timings; returns only the fields given (absent ones take the engine's defaults). */
export function healthcheckTimings(options: unknown, what: string): HealthcheckTimings {
  assertOptions(options, what);
  const out: HealthcheckTimings = {};
  for (const field of TIMINGS) {
    const value = options?.[field];
    if (value === undefined) continue;
    if (field === "retries") assertInteger(value, `${what}.retries`, 1, MAX_HEALTHCHECK_RETRIES, "");
    // A start period of 0 is Docker's default (no grace); an interval or timeout of 0 would spin.
    else assertInteger(value, `${what}.${field}`, field === "startPeriodMs" ? 0 : 1, MAX_HEALTHCHECK_MS, " milliseconds");
    out[field] = value;
  }
  return out;
}

/** Checks a regular-expression source compiles (as the engine will compile it: no flags). */
function assertPattern(pattern: unknown, what: string): asserts pattern is string {
  if (typeof pattern !== "string" || pattern === "" || pattern.length > MAX_LOG_PATTERN_CHARS) {
    throw new InvalidArgumentError(`${what} must be a regular expression source of 1 to ${MAX_LOG_PATTERN_CHARS} characters, got ${quote(pattern)}`);
  }
  try {
    new RegExp(pattern);
  } catch (err) {
    throw new InvalidArgumentError(`${what} ${quote(pattern)} is not a valid regular expression: ${(err as Error).message}`, { cause: err });
  }
}

/** `waitForLog` as the builder takes it (a pattern, or `{ pattern, times? }`), as the definition records it. */
export function logWaitDef(value: unknown, what = "waitForLog"): LogWaitDef {
  if (typeof value === "string") {
    assertPattern(value, what);
    return { pattern: value, times: 1 };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(`${what} must be a regular expression source or { pattern, times? }, got ${quote(value)}`);
  }
  const { pattern, times = 1 } = value as { pattern?: unknown; times?: unknown };
  assertPattern(pattern, `${what}.pattern`);
  assertInteger(times, `${what}.times`, 1, MAX_LOG_TIMES, " lines");
  return { pattern, times };
}

/** `waitForLog` as recorded (both fields present): what a hand-made definition must hold. */
export function assertLogWaitDef(value: unknown, what: string): asserts value is LogWaitDef {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new InvalidArgumentError(`${what} must be an object { pattern, times }`);
  const { pattern, times } = value as Record<string, unknown>;
  assertPattern(pattern, `${what}.pattern`);
  assertInteger(times, `${what}.times`, 1, MAX_LOG_TIMES, " lines");
}
