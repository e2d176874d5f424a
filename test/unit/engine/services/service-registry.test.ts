// The registry's lifecycle races, with starts and stops the test settles by hand: a caller's abort ends only its own
// wait, an aborted start() pins nothing, stop() during a start cancels it, a later stop({ kill }) escalates.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CancelledError, ServiceError } from "../../../../src/common/errors.js";
import { ServiceRegistry, type RegisteredService } from "../../../../src/engine/services/service-registry.js";
import { afterTimers, gate, isSettled, within, type Gate } from "../../../helpers/gate.js";
import { rejectsWith } from "../../../helpers/errors.js";

class FakeService implements RegisteredService {
  readonly exit = gate<void>();
  readonly exited = this.exit.promise;
  readonly stops: { kill: boolean }[] = [];
  readonly stopped = gate<void>();
  constructor(readonly key: string) {}
  stop(opts: { kill: boolean }): Promise<void> {
    this.stops.push(opts);
    this.stopped.open();
    return Promise.resolve();
  }
}

/** A starter whose start the test finishes: `starts` records each call with its signal. */
function manualStarter() {
  const starts: { key: string; signal: AbortSignal; result: Gate<FakeService> }[] = [];
  const called = gate<void>();
  const start = (key: string, signal: AbortSignal) => {
    const result = gate<FakeService>();
    starts.push({ key, signal, result });
    called.open();
    return result.promise;
  };
  return { start, starts, called };
}

test("one caller's abort ends only its wait: the start goes on and the other caller gets the service", async () => {
  const registry = new ServiceRegistry<FakeService>({ graceMs: 0 });
  const s = manualStarter();
  const a = new AbortController();
  const waitA = registry.acquire("k", s.start, a.signal);
  const waitB = registry.acquire("k", s.start);
  await s.called.promise;
  a.abort(new Error("A gave up"));
  await rejectsWith(waitA, "CANCELLED");
  assert.is(s.starts[0]!.signal?.aborted ?? false, false, "the start is not cancelled by A's signal");
  const svc = new FakeService("k");
  s.starts[0]!.result.open(svc);
  const lease = await waitB;
  assert.is(lease.service, svc);
  assert.is(s.starts.length, 1, "one start");
  await afterTimers();
  assert.equal(svc.stops, [], "B's reference keeps it running");
  lease.release();
  await within(svc.stopped.promise, 2000, "stop after B released");
});

test("every waiter gone during the start: once started, it is stopped after the grace period", async () => {
  const registry = new ServiceRegistry<FakeService>({ graceMs: 50 });
  const s = manualStarter();
  const a = new AbortController();
  const wait = registry.acquire("k", s.start, a.signal);
  await s.called.promise;
  a.abort();
  await rejectsWith(wait, "CANCELLED");
  // The grace period runs out while the start is under way: the start is cancelled, and a late success is stopped.
  await within(new Promise((r) => s.starts[0]!.signal.addEventListener("abort", r)), 2000, "start cancelled");
  const svc = new FakeService("k");
  s.starts[0]!.result.open(svc);
  await within(svc.stopped.promise, 2000, "stop");
});

test("an aborted start() pins nothing: once the start settles, the service is stopped after the grace period", async () => {
  const registry = new ServiceRegistry<FakeService>({ graceMs: 0 });
  const s = manualStarter();
  const a = new AbortController();
  const pinning = registry.pin("k", s.start, a.signal);
  await s.called.promise;
  a.abort();
  await rejectsWith(pinning, "CANCELLED");
  const svc = new FakeService("k");
  s.starts[0]!.result.open(svc);
  await within(svc.stopped.promise, 2000, "an unpinned, unreferenced service is stopped");
  assert.is(registry.get("k"), undefined);
});

test("one start()'s abort does not unpin another start() of the same service", async () => {
  const registry = new ServiceRegistry<FakeService>({ graceMs: 0 });
  const s = manualStarter();
  const a = new AbortController();
  const pinA = registry.pin("k", s.start, a.signal);
  const pinB = registry.pin("k", s.start);
  await s.called.promise;
  a.abort();
  await rejectsWith(pinA, "CANCELLED");
  const svc = new FakeService("k");
  s.starts[0]!.result.open(svc);
  assert.is(await pinB, svc);
  // A binder that comes and goes must not stop a pinned service.
  (await registry.acquire("k", s.start)).release();
  await afterTimers(5);
  assert.equal(svc.stops, [], "still pinned by B");
  await registry.stop("k", { kill: false });
  assert.equal(svc.stops, [{ kill: false }]);
});

test("stop() during a start cancels it, fails its waiters with the stop's reason, and resolves once it is undone", async () => {
  const registry = new ServiceRegistry<FakeService>({ graceMs: 0 });
  const undone = gate<void>();
  let startSignal: AbortSignal | undefined;
  const started = gate<void>();
  const start = (_key: string, signal: AbortSignal) => {
    startSignal = signal;
    started.open();
    // Like a real start: on abort, it removes what it made, then rejects.
    return new Promise<FakeService>((_, reject) => signal?.addEventListener("abort", () => void undone.promise.then(() => reject(new CancelledError("start cancelled")))));
  };
  const waiting = registry.pin("k", start);
  await started.promise;
  const reason = new ServiceError({ service: "k", reason: "stopped" });
  const stopping = registry.stop("k", { kill: false }, reason);
  await afterTimers();
  assert.ok(startSignal?.aborted, "the start was cancelled");
  assert.not.ok(await isSettled(stopping), "stop() waits until the start has undone itself");
  undone.open();
  await within(stopping, 2000, "stop");
  const err = await rejectsWith(waiting, "SERVICE_FAILED");
  assert.is(err, reason);
  assert.is(registry.get("k"), undefined);
});

test("concurrent stop() calls resolve together, and a later stop({ kill: true }) reaches the service", async () => {
  const registry = new ServiceRegistry<FakeService>({ graceMs: 0 });
  const svc = new FakeService("k");
  await registry.pin("k", async () => svc);
  await Promise.all([registry.stop("k", { kill: false }), registry.stop("k", { kill: true })]);
  assert.equal(svc.stops, [{ kill: false }, { kill: true }]);
});

test("closeAll() cancels a start under way and waits for it", async () => {
  const registry = new ServiceRegistry<FakeService>({ graceMs: 0 });
  const s = manualStarter();
  const waiting = registry.acquire("k", s.start);
  await s.called.promise;
  const closing = registry.closeAll();
  await afterTimers();
  assert.ok(s.starts[0]!.signal?.aborted);
  s.starts[0]!.result.fail(new CancelledError("start cancelled"));
  await closing;
  await rejectsWith(waiting, "CANCELLED", /session was closed/);
  await rejectsWith(registry.acquire("k", s.start), "CANCELLED");
});

test.run();
