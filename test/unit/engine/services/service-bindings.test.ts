// A container's bindings are all or nothing: when one fails, the others' references are released, a binding whose
// acquisition was still under way included, and the error is the failing binding's own.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ServiceError } from "../../../../src/common/errors.js";
import { bindServices, type BindableService } from "../../../../src/engine/services/service-bindings.js";
import type { ServiceLease } from "../../../../src/engine/services/service-registry.js";
import { gate, isSettled } from "../../../helpers/gate.js";
import { rejectsWith } from "../../../helpers/errors.js";

const service = (hostname: string): BindableService => ({ hostname, ip: "10.87.0.9", exited: new Promise(() => {}), logs: { tail: () => "" } });

function lease(hostname: string, released: string[]): ServiceLease<BindableService> {
  return { service: service(hostname), release: () => released.push(hostname) };
}

test("a binding that fails while another is still being acquired: the other's late lease is released", async () => {
  const released: string[] = [];
  const first = gate<ServiceLease<BindableService>>();
  const signals: Record<string, AbortSignal> = {};
  const failure = new ServiceError({ service: "b", reason: "exited with code 7 before it was healthy", exitCode: 7 });
  const bound = bindServices([{ alias: "a" }, { alias: "b" }], (b, signal) => {
    signals[b.alias] = signal;
    return b.alias === "a" ? first.promise : Promise.reject(failure);
  });
  bound.catch(() => {}); // asserted below
  await new Promise((r) => setImmediate(r));
  assert.ok(signals.a!.aborted, "a's acquisition is told to give up");
  assert.not.ok(await isSettled(bound), "waits for a's acquisition to settle");
  first.open(lease("a", released)); // an acquisition that finished anyway
  const err = await rejectsWith(bound, "SERVICE_FAILED");
  assert.is(err, failure, "the failing binding's error, not a cancellation");
  assert.equal(released, ["a"]);
});

test("a binding that fails after another was acquired releases it", async () => {
  const released: string[] = [];
  const second = gate<ServiceLease<BindableService>>();
  const bound = bindServices([{ alias: "a" }, { alias: "b" }, { alias: "c" }], async (b) => {
    if (b.alias === "a") return lease("a", released);
    if (b.alias === "b") return second.promise;
    return lease("c", released);
  });
  await new Promise((r) => setImmediate(r));
  second.fail(new ServiceError({ service: "b", reason: "health check timed out" }));
  await rejectsWith(bound, "SERVICE_FAILED");
  assert.equal(released.sort(), ["a", "c"]);
});

test("all bound: aliases in order, one release for all, idempotent per lease", async () => {
  const released: string[] = [];
  const bound = await bindServices([{ alias: "x" }, { alias: "y" }], async (b) => lease(b.alias, released));
  assert.equal(bound.aliases.map((a) => a.alias), ["x", "y"]);
  assert.not.ok(bound.signal.aborted);
  bound.release();
  assert.equal(released, ["x", "y"]);
});

test("a bound service that exits aborts the binder's signal with a ServiceError", async () => {
  const exit = gate<{ exitCode: number }>();
  const svc: BindableService = { hostname: "db", ip: "10.87.0.5", exited: exit.promise, logs: { tail: () => "bye" } };
  const bound = await bindServices([{ alias: "db" }], async () => ({ service: svc, release: () => {} }));
  exit.open({ exitCode: 3 });
  await new Promise((r) => setImmediate(r));
  assert.ok(bound.signal.aborted);
  const reason = bound.signal.reason as ServiceError;
  assert.is(reason.code, "SERVICE_FAILED");
  assert.is(reason.exitCode, 3);
  assert.is(reason.logs, "bye");
});

test.run();
