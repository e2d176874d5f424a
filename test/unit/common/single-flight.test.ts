// Shared work: one run per key; a caller's abort ends only its own wait; the work is cancelled when its last waiter
// has gone; a remembered result serves later callers; drain() waits for abandoned runs.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ServiceError } from "../../../src/common/errors.js";
import { SingleFlight } from "../../../src/common/single-flight.js";
import { gate, isSettled } from "../../helpers/gate.js";
import { rejectsWith } from "../../helpers/errors.js";

test("A aborts: A gets CancelledError at once, B still gets the result of the one run", async () => {
  const flights = new SingleFlight<string, string>();
  const result = gate<string>();
  let runs = 0;
  let workSignal: AbortSignal | undefined;
  const work = (signal: AbortSignal) => {
    runs++;
    workSignal = signal;
    return result.promise;
  };
  const a = new AbortController();
  const waitA = flights.run("k", work, a.signal);
  const waitB = flights.run("k", work);
  a.abort();
  await rejectsWith(waitA, "CANCELLED");
  assert.not.ok(result.settled, "A's rejection came before the work finished");
  assert.is(workSignal!.aborted, false, "the work goes on for B");
  result.open("built");
  assert.is(await waitB, "built");
  assert.is(runs, 1);
  assert.is(flights.size, 0, "forgotten once settled");
});

test("every waiter gone: the work is cancelled, and the next caller starts afresh", async () => {
  const flights = new SingleFlight<string, string>();
  const signals: AbortSignal[] = [];
  const work = (signal: AbortSignal) => {
    signals.push(signal);
    return new Promise<string>((resolve, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
  };
  const a = new AbortController();
  const b = new AbortController();
  const waitA = flights.run("k", work, a.signal);
  const waitB = flights.run("k", work, b.signal);
  await new Promise((r) => setImmediate(r));
  a.abort();
  await rejectsWith(waitA, "CANCELLED");
  assert.not.ok(signals[0]!.aborted, "B still waits");
  b.abort();
  await rejectsWith(waitB, "CANCELLED");
  assert.ok(signals[0]!.aborted, "nobody waits: cancelled");
  const c = flights.run("k", async () => "again");
  assert.is(await c, "again");
  await flights.drain();
});

test("an already-aborted caller starts nothing", async () => {
  const flights = new SingleFlight<string, string>();
  let runs = 0;
  await rejectsWith(flights.run("k", async () => String(++runs), AbortSignal.abort()), "CANCELLED");
  assert.is(runs, 0);
});

test("remember: a result serves later callers; a failure is forgotten", async () => {
  const flights = new SingleFlight<string, number>({ remember: true });
  let runs = 0;
  await rejectsWith(flights.run("k", async () => {
    runs++;
    throw new ServiceError({ service: "x", reason: "no" });
  }), "SERVICE_FAILED");
  assert.is(await flights.run("k", async () => ++runs), 2);
  assert.is(await flights.run("k", async () => ++runs), 2, "remembered");
});

test("drain() waits for a run whose callers all left", async () => {
  const flights = new SingleFlight<string, string>();
  const cleanup = gate<void>();
  const a = new AbortController();
  const wait = flights.run("k", async (signal) => {
    await new Promise((r) => signal.addEventListener("abort", r));
    await cleanup.promise; // e.g. deleting the container of a cancelled exec
    return "late";
  }, a.signal);
  a.abort();
  await rejectsWith(wait, "CANCELLED");
  const draining = flights.drain();
  assert.not.ok(await isSettled(draining));
  cleanup.open();
  await draining;
});

test.run();
