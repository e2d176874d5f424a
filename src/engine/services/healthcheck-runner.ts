// A service's healthcheck command, run as Docker runs HEALTHCHECK: exec'd into the service's task (its user, env and
// workdir), each try bounded by its timeout; `interval` after a failed try ends, the next starts (`startInterval`
// during the start period); a success ends the wait; failures in the start period do not count, and `retries`
// consecutive ones after it make the service unhealthy. The first try runs at once: a start waits for readiness, so
// the interval Docker waits before its first try would only delay every client. The loop is pure apart from the
// probe and clock it is given, so its schedule is tested without containers or real time.
import { setTimeout as sleep } from "node:timers/promises";
import { CancelledError, throwIfAborted } from "../../common/errors.js";
import type { RunningTask } from "../../runtime/index.js";
import type { PlannedHealthcheck } from "../healthcheck-config.js";

/** Docker keeps this much of a try's output (moby's maxOutputLen); so do we. */
export const HEALTHCHECK_OUTPUT_BYTES = 4096;

/** How one try went. */
export interface HealthcheckTry {
  ok: boolean;
  /** The exit code; absent when the try timed out or could not be exec'd. */
  exitCode?: number;
  /** The try's stdout and stderr, merged in arrival order (the last HEALTHCHECK_OUTPUT_BYTES). */
  output: string;
  /** Still running at its timeout (then killed). */
  timedOut?: boolean;
  /** The exec itself failed (the reason is in `output`): often the service exiting under it. */
  execFailed?: boolean;
}

/** Runs the command once; rejects only when `signal` aborts. */
export type HealthcheckProbe = (args: readonly string[], opts: { timeoutMs: number; signal: AbortSignal }) => Promise<HealthcheckTry>;

export interface HealthcheckClock {
  now(): number;
  /** Resolves after ms; rejects when signal aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

const systemClock: HealthcheckClock = { now: () => performance.now(), sleep: (ms, signal) => sleep(ms, undefined, { signal }) };

/** What the wait has seen so far (read by the caller for its timeout message). */
export interface HealthcheckProgress {
  tries: number;
  /** Consecutive failures counted towards `retries`. */
  failures: number;
  last?: HealthcheckTry;
}

/** The loop's verdict: healthy, or unhealthy after `retries` counted failures (the last one with it). */
export type HealthcheckVerdict = { healthy: true } | { healthy: false; last: HealthcheckTry; failures: number };

/** Runs tries until one succeeds or the service is unhealthy; CancelledError when `signal` aborts. */
export async function runHealthcheck(
  probe: HealthcheckProbe,
  check: PlannedHealthcheck,
  opts: { signal: AbortSignal; progress?: HealthcheckProgress; clock?: HealthcheckClock },
): Promise<HealthcheckVerdict> {
  const clock = opts.clock ?? systemClock;
  const progress = opts.progress ?? { tries: 0, failures: 0 };
  const started = clock.now();
  for (;;) {
    throwIfAborted(opts.signal);
    const result = await probe(check.args, { timeoutMs: check.timeoutMs, signal: opts.signal });
    progress.tries += 1;
    progress.last = result;
    if (result.ok) return { healthy: true };
    const inStartPeriod = clock.now() - started < check.startPeriodMs;
    if (!inStartPeriod) progress.failures += 1;
    if (progress.failures >= check.retries) return { healthy: false, last: result, failures: progress.failures };
    try {
      await clock.sleep(inStartPeriod ? check.startIntervalMs : check.intervalMs, opts.signal);
    } catch (err) {
      throw new CancelledError("healthcheck cancelled", { cause: opts.signal.reason ?? err });
    }
  }
}

/** The probe for a running task: `execRun` with a per-try timeout, keeping the merged output's tail. */
export function execProbe(task: Pick<RunningTask, "execRun">): HealthcheckProbe {
  return async (args, { timeoutMs, signal }) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const keep = (chunk: Buffer) => {
      chunks.push(chunk);
      bytes += chunk.length;
      while (bytes - chunks[0]!.length >= HEALTHCHECK_OUTPUT_BYTES) bytes -= chunks.shift()!.length;
    };
    const output = () => {
      const all = Buffer.concat(chunks);
      return all.subarray(Math.max(0, all.length - HEALTHCHECK_OUTPUT_BYTES)).toString("utf8");
    };
    const tryTimeout = new AbortController();
    const timer = setTimeout(() => tryTimeout.abort(), timeoutMs);
    try {
      const { exitCode } = await task.execRun(args, {
        signal: AbortSignal.any([signal, tryTimeout.signal]),
        maxOutputBytes: HEALTHCHECK_OUTPUT_BYTES,
        onStdout: keep,
        onStderr: keep,
      });
      return { ok: exitCode === 0, exitCode, output: output() };
    } catch (err) {
      if (signal.aborted) throw err;
      if (tryTimeout.signal.aborted) return { ok: false, timedOut: true, output: output() };
      return { ok: false, execFailed: true, output: err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(timer);
    }
  };
}

/** One line saying how a try went, for error messages: `exit code 1: "not-yet"`. */
export function describeTry(t: HealthcheckTry, timeoutMs: number): string {
  const output = t.output.trim();
  const said = output === "" ? "no output" : `output ${JSON.stringify(output)}`;
  if (t.timedOut) return `timed out after ${timeoutMs} ms, ${said}`;
  if (t.execFailed) return `could not be run: ${JSON.stringify(output)}`;
  return `exit code ${t.exitCode}, ${said}`;
}
