// waitForPort's schedule against a fake clock and a scripted probe: backoff 5 ms → 1 s, the deadline, the
// per-attempt connect timeout, cancellation and the caller's early stop.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { SvcdError } from "../../../src/common/errors.js";
import { backoffDelay } from "../../../src/common/backoff.js";
import { fakeClock } from "../../helpers/fake-clock.js";
import { PROBE_BACKOFF, waitForPort, type PortProbe, type WaitClock } from "../../../src/forward/port-waiter.js";

/** A probe that fails (taking `costMs` of fake time each) until attempt number `okAt`. */
function scripted(clock: { t: number }, okAt: number, costMs = 0): PortProbe & { calls: { timeoutMs: number }[] } {
  const calls: { timeoutMs: number }[] = [];
  const probe = (async (_ip: string, _port: number, opts: { timeoutMs: number }) => {
    calls.push({ timeoutMs: opts.timeoutMs });
    clock.t += Math.min(costMs, opts.timeoutMs);
    return calls.length >= okAt;
  }) as PortProbe & { calls: { timeoutMs: number }[] };
  probe.calls = calls;
  return probe;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "resolved";
  } catch (err) {
    assert.ok(SvcdError.is(err), String(err));
    return err.code;
  }
}

test("the common backoff: 100, 200, 400, 800, then 1000 ms; the probes': 5 ms doubling to 1000", () => {
  assert.equal([0, 1, 2, 3, 4, 5, 10].map((a) => backoffDelay(a)), [100, 200, 400, 800, 1000, 1000, 1000]);
  assert.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 20].map((a) => backoffDelay(a, PROBE_BACKOFF)), [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
});

test("retries with backoff until the probe succeeds", async () => {
  const clock = fakeClock();
  const probe = scripted(clock, 11);
  await waitForPort(probe, "10.87.0.2", 8080, { timeoutMs: 60_000 }, clock);
  assert.is(probe.calls.length, 11);
  assert.equal(clock.sleeps, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
  assert.ok(probe.calls.every((c) => c.timeoutMs === 1000));
});

test("a success on the first attempt does not sleep", async () => {
  const clock = fakeClock();
  await waitForPort(scripted(clock, 1), "10.87.0.2", 8080, { timeoutMs: 1000 }, clock);
  assert.equal(clock.sleeps, []);
});

test("the deadline: TimeoutError, and no sleep or probe runs past it", async () => {
  const clock = fakeClock();
  const probe = scripted(clock, Infinity, 1000);
  assert.is(await codeOf(waitForPort(probe, "10.87.0.2", 8080, { timeoutMs: 2500 }, clock)), "TIMEOUT");
  assert.is(clock.t, 2500);
  // attempts at 0 (1 s), 1005 (1 s), 2015 (the 485 ms left)
  assert.equal(probe.calls.map((c) => c.timeoutMs), [1000, 1000, 485]);
});

test("an aborted signal: CancelledError before probing, and during a sleep", async () => {
  const clock = fakeClock();
  const probe = scripted(clock, Infinity);
  assert.is(await codeOf(waitForPort(probe, "10.87.0.2", 80, { timeoutMs: 5000, signal: AbortSignal.abort() }, clock)), "CANCELLED");
  assert.is(probe.calls.length, 0);
  const ac = new AbortController();
  const aborting: WaitClock = { now: clock.now, sleep: async (ms, signal) => (ac.abort(), clock.sleep(ms, signal)) };
  assert.is(await codeOf(waitForPort(probe, "10.87.0.2", 80, { timeoutMs: 5000, signal: ac.signal }, aborting)), "CANCELLED");
  assert.is(probe.calls.length, 1);
});

test("shouldStop ends the wait with CancelledError before the next attempt", async () => {
  const clock = fakeClock();
  const probe = scripted(clock, Infinity);
  let exited = false;
  const wait = waitForPort(probe, "10.87.0.2", 80, { timeoutMs: 60_000, shouldStop: () => exited }, {
    now: clock.now,
    sleep: async (ms) => {
      clock.t += ms;
      if (clock.t > 700) exited = true;
    },
  });
  assert.is(await codeOf(wait), "CANCELLED");
  // sleeps end at 5, 15, 35, 75, 155, 315, 635, 1275: the exit is seen after the 8th, before a 9th attempt
  assert.is(probe.calls.length, 8);
});

test("invalid endpoint or timeout: InvalidArgumentError without probing", async () => {
  const clock = fakeClock();
  const probe = scripted(clock, 1);
  assert.is(await codeOf(waitForPort(probe, "www", 80, { timeoutMs: 1000 }, clock)), "INVALID_ARGUMENT");
  assert.is(await codeOf(waitForPort(probe, "10.0.0.1", 0, { timeoutMs: 1000 }, clock)), "INVALID_ARGUMENT");
  assert.is(await codeOf(waitForPort(probe, "10.0.0.1", 80, { timeoutMs: 0 }, clock)), "INVALID_ARGUMENT");
  assert.is(probe.calls.length, 0);
});

test.run();
