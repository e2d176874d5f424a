import { test } from "uvu";
import * as assert from "uvu/assert";
import { CleanupStack } from "../../../src/runtime/cleanup-stack.js";

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

test.run();
