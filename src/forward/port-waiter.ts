// The health-check loop: probe a port until it accepts, with backoff, a deadline, cancellation and an early stop.
// Pure apart from the probe and the clock it is given, so its timing is tested without sockets or real time.
import { setTimeout as sleep } from "node:timers/promises";
import { CancelledError, TimeoutError, throwIfAborted } from "../common/errors.js";
import { backoffDelay } from "../common/backoff.js";
import { checkEndpoint, checkTimeout } from "./agent-protocol.js";

/** One connect attempt with a connect timeout; true when it was accepted. */
export type PortProbe = (ip: string, port: number, opts: { timeoutMs: number; signal?: AbortSignal }) => Promise<boolean>;

/** Time as the waiter sees it; tests pass a fake. */
export interface WaitClock {
  now(): number;
  /** Resolves after ms; rejects (any error) when signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface WaitForPortOptions {
  /** Overall deadline; TimeoutError when it passes. */
  timeoutMs: number;
  /** Aborting rejects with CancelledError. */
  signal?: AbortSignal;
  /** Checked between attempts; true ends the wait with CancelledError (the service exited: the caller says why). */
  shouldStop?: () => boolean;
  /** Connect timeout of one attempt (default 1 s; never past the deadline). */
  probeTimeoutMs?: number;
}

/** The real clock. */
export const systemClock: WaitClock = {
  now: () => performance.now(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }),
};

/**
 * The probes' backoff: 5 ms doubling to 1 s (5, 10, 20, 40, 80, 160, 320, 640, then 1000). A refused connect in the
 * hub costs well under a millisecond, and a service usually listens within a few ms of its start: a first retry at
 * 100 ms (DESIGN.md §3's schedule) left S1 waiting ~95 ms for a port that had opened meanwhile. From 640 ms on it is
 * DESIGN's schedule again.
 */
export const PROBE_BACKOFF = { initialMs: 5, maxMs: 1000 } as const;

/** Probes ip:port with backoff (PROBE_BACKOFF) until it accepts; rejects with TimeoutError or CancelledError. */
export async function waitForPort(probe: PortProbe, ip: string, port: number, opts: WaitForPortOptions, clock: WaitClock = systemClock): Promise<void> {
  checkEndpoint(ip, port);
  checkTimeout(opts.timeoutMs, "timeoutMs");
  const { signal, shouldStop } = opts;
  const perAttempt = opts.probeTimeoutMs ?? 1000;
  const deadline = clock.now() + opts.timeoutMs;
  const stopCheck = () => {
    throwIfAborted(signal);
    if (shouldStop?.()) throw new CancelledError(`waiting for ${ip}:${port} stopped by the caller`);
  };
  for (let attempt = 0; ; attempt++) {
    stopCheck();
    const remaining = deadline - clock.now();
    if (remaining <= 0) break;
    if (await probe(ip, port, { timeoutMs: Math.max(1, Math.min(perAttempt, remaining)), signal })) return;
    stopCheck();
    const left = deadline - clock.now();
    if (left <= 0) break;
    try {
      await clock.sleep(Math.min(backoffDelay(attempt, PROBE_BACKOFF), left), signal);
    } catch (err) {
      throw new CancelledError(`waiting for ${ip}:${port} cancelled`, { cause: signal?.reason ?? err });
    }
  }
  throw new TimeoutError(`${ip}:${port} did not accept a TCP connection within ${opts.timeoutMs} ms`);
}
