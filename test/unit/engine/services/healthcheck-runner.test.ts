// The healthcheck loop's schedule against a fake clock and a scripted probe (the exec path itself runs against a
// real service in test/integration/api/readiness.test.ts): first try at once, `interval` between tries (the start
// interval during the start period), start-period failures not counted, `retries` consecutive failures unhealthy,
// cancellation; and the log watch over a real ServiceLogs.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Paths } from "../../../../src/common/paths.js";
import type { PlannedHealthcheck } from "../../../../src/engine/healthcheck-config.js";
import { describeTry, runHealthcheck, type HealthcheckProbe, type HealthcheckProgress } from "../../../../src/engine/services/healthcheck-runner.js";
import { LogWatch } from "../../../../src/engine/services/log-watch.js";
import { ServiceLogs } from "../../../../src/engine/services/service-logs.js";
import { fakeClock } from "../../../helpers/fake-clock.js";
import { isSettled } from "../../../helpers/gate.js";
import { isCode } from "../../../helpers/errors.js";

const check = (over: Partial<PlannedHealthcheck> = {}): PlannedHealthcheck => ({
  args: ["check"],
  intervalMs: 1000,
  startIntervalMs: 200,
  timeoutMs: 500,
  retries: 3,
  startPeriodMs: 0,
  ...over,
});

/** A probe that fails (taking `costMs` of fake time) until try number `okAt` (never when 0). */
function scripted(clock: { t: number }, okAt: number, costMs = 0) {
  const at: number[] = [];
  const probe: HealthcheckProbe = async (_args, opts) => {
    at.push(clock.t);
    clock.t += Math.min(costMs, opts.timeoutMs);
    return at.length === okAt ? { ok: true, exitCode: 0, output: "" } : { ok: false, exitCode: 1, output: `try ${at.length}` };
  };
  return { probe, at };
}

const never = new AbortController().signal;

test("the first try runs at once; a success ends the wait", async () => {
  const clock = fakeClock();
  const { probe, at } = scripted(clock, 1);
  assert.equal(await runHealthcheck(probe, check(), { signal: never, clock }), { healthy: true });
  assert.equal(at, [0]);
  assert.equal(clock.sleeps, []);
});

test("tries repeat `interval` after the previous one ended, until one succeeds", async () => {
  const clock = fakeClock();
  const { probe, at } = scripted(clock, 3, 50);
  const progress: HealthcheckProgress = { tries: 0, failures: 0 };
  assert.equal(await runHealthcheck(probe, check({ retries: 5 }), { signal: never, clock, progress }), { healthy: true });
  assert.equal(at, [0, 1050, 2100]);
  assert.equal(progress, { tries: 3, failures: 2, last: { ok: true, exitCode: 0, output: "" } });
});

test("`retries` consecutive failures make the service unhealthy, with the last try", async () => {
  const clock = fakeClock();
  const { probe, at } = scripted(clock, 0);
  const verdict = await runHealthcheck(probe, check({ retries: 2 }), { signal: never, clock });
  assert.equal(verdict, { healthy: false, failures: 2, last: { ok: false, exitCode: 1, output: "try 2" } });
  assert.equal(at, [0, 1000]);
});

test("failures in the start period do not count, and tries come at the start interval there", async () => {
  const clock = fakeClock();
  const { probe, at } = scripted(clock, 0);
  const verdict = await runHealthcheck(probe, check({ retries: 2, startPeriodMs: 500 }), { signal: never, clock });
  assert.ok(!verdict.healthy);
  // 0, 200, 400: in the start period (not counted); 600: counted (1), then 1600: counted (2) → unhealthy.
  assert.equal(at, [0, 200, 400, 600, 1600]);
  assert.is(verdict.failures, 2);
  // A success during the start period is healthy at once.
  const clock2 = fakeClock();
  const ok = scripted(clock2, 2);
  assert.equal(await runHealthcheck(ok.probe, check({ startPeriodMs: 10_000 }), { signal: never, clock: clock2 }), { healthy: true });
  assert.equal(ok.at, [0, 200]);
});

test("each try gets the per-try timeout; an abort ends the wait with CancelledError", async () => {
  const clock = fakeClock();
  const timeouts: number[] = [];
  const stop = new AbortController();
  const probe: HealthcheckProbe = async (_args, opts) => {
    timeouts.push(opts.timeoutMs);
    if (timeouts.length === 2) stop.abort();
    return { ok: false, timedOut: true, output: "" };
  };
  let err: unknown;
  await runHealthcheck(probe, check({ timeoutMs: 750, retries: 10 }), { signal: stop.signal, clock }).catch((e) => (err = e));
  assert.ok(isCode("CANCELLED")(err), String(err));
  assert.equal(timeouts, [750, 750]);
});

test("describeTry says how a try went, output JSON-quoted", () => {
  assert.is(describeTry({ ok: false, exitCode: 1, output: "not-yet\n" }, 500), 'exit code 1, output "not-yet"');
  assert.is(describeTry({ ok: false, exitCode: 2, output: "" }, 500), "exit code 2, no output");
  assert.is(describeTry({ ok: false, timedOut: true, output: "a\nb" }, 500), 'timed out after 500 ms, output "a\\nb"');
  assert.is(describeTry({ ok: false, execFailed: true, output: "no such process" }, 500), 'could not be run: "no such process"');
});

test("a log watch counts matching lines of stdout and stderr from the moment it is made", async () => {
  const root = mkdtempSync(join(tmpdir(), "svcd-logwatch-"));
  try {
    const logs = new ServiceLogs(new Paths({ state: join(root, "state"), runtime: join(root, "run") }), "svc-watch");
    logs.write(Buffer.from("ready\n")); // before the watch: not counted
    const watch = new LogWatch(logs, { pattern: "^ready$", times: 2 });
    const waited = watch.wait(never);
    logs.write(Buffer.from("not ready\nrea"));
    logs.write(Buffer.from("dy\r\n")); // split across chunks, CRLF
    assert.is(watch.count, 1);
    assert.not.ok(await isSettled(waited));
    logs.write(Buffer.from("ready\n"));
    assert.ok(await isSettled(waited));
    await waited;
    assert.is(watch.describe(), "waitForLog /^ready$/ matched 2 of 2 lines");
    // Aborting a wait that has not matched rejects with CancelledError; close() stops counting.
    const other = new LogWatch(logs, { pattern: "never", times: 1 });
    const stop = new AbortController();
    const pending = other.wait(stop.signal);
    stop.abort();
    let err: unknown;
    await pending.catch((e) => (err = e));
    assert.ok(isCode("CANCELLED")(err));
    other.close();
    logs.write(Buffer.from("never\n"));
    assert.is(other.count, 0);
    await logs.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
