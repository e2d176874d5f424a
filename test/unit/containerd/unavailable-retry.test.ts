// retryWhileUnavailable's schedule against a fake clock: backoff, the budget, a shared deadline, the reset after a
// long-connected attempt, other errors passing through, and cancellation.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { EngineUnavailableError, NotFoundError, SvcdError } from "../../../src/common/errors.js";
import { retryWhileUnavailable } from "../../../src/containerd/index.js";
import { backoffDelay } from "../../../src/common/backoff.js";
import { fakeClock } from "../../helpers/fake-clock.js";

const down = () => new EngineUnavailableError("containerd is not answering");

test("backoffDelay doubles up to the max", () => {
  assert.equal([0, 1, 2, 3, 4, 10, 100].map((n) => backoffDelay(n, { initialMs: 100, maxMs: 1000 })), [100, 200, 400, 800, 1000, 1000, 1000]);
});

test("retries while UNAVAILABLE, with backoff, until the call succeeds", async () => {
  const clock = fakeClock();
  let calls = 0;
  const value = await retryWhileUnavailable(async () => {
    if (++calls < 5) throw down();
    return "done";
  }, { clock, initialDelayMs: 100, maxDelayMs: 500 });
  assert.is(value, "done");
  assert.equal(clock.sleeps, [100, 200, 400, 500]);
});

test("gives up with the last UNAVAILABLE once the budget is spent; the last wait is cut to the budget", async () => {
  const clock = fakeClock();
  let calls = 0;
  try {
    await retryWhileUnavailable(async () => (calls++, Promise.reject(down())), { clock, budgetMs: 1000, initialDelayMs: 100, maxDelayMs: 2000 });
    assert.unreachable();
  } catch (err) {
    assert.ok(SvcdError.is(err) && err.code === "UNAVAILABLE");
  }
  assert.equal(clock.sleeps, [100, 200, 400, 300]);
  assert.is(calls, 5);
  assert.is(clock.t, 1000);
});

test("a shared deadline bounds several calls together", async () => {
  const clock = fakeClock();
  const deadline = 250;
  await retryWhileUnavailable(async () => Promise.reject(down()), { clock, deadline }).catch(() => {});
  assert.is(clock.t, 250);
  const before = clock.sleeps.length;
  await retryWhileUnavailable(async () => Promise.reject(down()), { clock, deadline }).catch(() => {});
  assert.is(clock.sleeps.length, before, "no budget left: the second call fails at once");
});

test("other errors pass through untouched, without retry", async () => {
  const clock = fakeClock();
  const gone = new NotFoundError("no such task");
  let calls = 0;
  const err = await retryWhileUnavailable(async () => (calls++, Promise.reject(gone)), { clock }).catch((e: unknown) => e);
  assert.is(err, gone);
  assert.is(calls, 1);
});

test("an attempt that stayed connected for resetAfterMs starts a fresh budget and backoff", async () => {
  const clock = fakeClock();
  let calls = 0;
  const value = await retryWhileUnavailable(async () => {
    calls++;
    if (calls === 3) clock.t += 10_000; // connected for 10 s, then containerd went away again
    if (calls < 6) throw down();
    return calls;
  }, { clock, budgetMs: 500, initialDelayMs: 100, resetAfterMs: 2000 });
  assert.is(value, 6);
  assert.equal(clock.sleeps, [100, 200, 100, 200, 200], "the fresh 500 ms budget cuts the last pause");
});

test("an abort while waiting is a CancelledError", async () => {
  const clock = fakeClock();
  const ac = new AbortController();
  const err = await retryWhileUnavailable(async () => {
    ac.abort(new Error("caller left"));
    throw down();
  }, { clock, signal: ac.signal }).catch((e: unknown) => e);
  assert.ok(SvcdError.is(err));
  assert.is(err.code, "UNAVAILABLE", "aborted before the pause: the call's own error");
  const ac2 = new AbortController();
  let n = 0;
  const err2 = await retryWhileUnavailable(async () => {
    if (n++ === 1) ac2.abort();
    throw down();
  }, { clock: { now: () => 0, sleep: async (_ms, s) => { if (s?.aborted) throw new Error("aborted"); } }, signal: ac2.signal }).catch((e: unknown) => e);
  assert.ok(SvcdError.is(err2));
  assert.ok(err2.code === "UNAVAILABLE" || err2.code === "CANCELLED");
});

test.run();
