import { test } from "uvu";
import * as assert from "uvu/assert";
import { CleanupStack } from "../../../src/runtime/cleanup-stack.js";
import { EngineUnavailableError } from "../../../src/common/errors.js";

/** A clock whose sleeps advance time at once. */
const fakeClock = () => {
  const c = { t: 0, now: () => c.t, sleep: async (ms: number) => void (c.t += ms) };
  return c;
};

test("runs steps in reverse, all of them, once", async () => {
  const order: string[] = [];
  const s = new CleanupStack();
  s.push("a", async () => order.push("a"));
  s.push("b", async () => {
    order.push("b");
    throw new Error("b failed");
  });
  s.push("c", async () => order.push("c"));
  const [errs, again] = await Promise.all([s.run(), s.run()]);
  assert.equal(order, ["c", "b", "a"]);
  assert.is(errs.length, 1);
  assert.is(again, errs);
});

test("clear drops steps", async () => {
  let ran = false;
  const s = new CleanupStack();
  s.push("x", async () => (ran = true));
  s.clear();
  assert.equal(await s.run(), []);
  assert.not.ok(ran);
});

test("retry steps are tried again while containerd is unavailable; others are not", async () => {
  const clock = fakeClock();
  const s = new CleanupStack({ clock });
  let plain = 0;
  let retried = 0;
  s.push("plain", async () => {
    plain++;
    throw new EngineUnavailableError("down");
  });
  s.push("containerd", async () => {
    if (++retried < 4) throw new EngineUnavailableError("down");
  }, { retry: true });
  const errors = await s.run();
  assert.is(retried, 4, "retried until containerd answered");
  assert.is(plain, 1, "not marked retry: tried once");
  assert.is(errors.length, 1);
});

test("all retry steps share one budget: cleanup never blocks for ever", async () => {
  const clock = fakeClock();
  const s = new CleanupStack({ clock, retryBudgetMs: 5000 });
  for (const name of ["a", "b", "c"]) s.push(name, async () => Promise.reject(new EngineUnavailableError(`${name} down`)), { retry: true });
  const errors = await s.run();
  assert.is(errors.length, 3);
  assert.is(clock.t, 5000, "the three steps together waited at most the budget");
});

test.run();
