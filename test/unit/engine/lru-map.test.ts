// The build cache's in-process memo is bounded: the least recently used entry goes first.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { LruMap } from "../../../src/engine/lru-map.js";

test("holds at most its limit, evicting the least recently used", () => {
  const m = new LruMap<string, number>(2);
  m.set("a", 1);
  m.set("b", 2);
  assert.is(m.get("a"), 1); // a is now the most recent
  m.set("c", 3);
  assert.is(m.size, 2);
  assert.is(m.get("b"), undefined);
  assert.is(m.get("a"), 1);
  assert.is(m.get("c"), 3);
});

test("a weight bound drops the oldest entries until the total fits, and never stores one over it", () => {
  const m = new LruMap<string, string>(100, { maxWeight: 10, weight: (v) => v.length });
  m.set("a", "xxxx");
  m.set("b", "xxxx");
  m.set("c", "xxxx"); // 12 > 10: a goes
  assert.is(m.get("a"), undefined);
  assert.is(m.get("b"), "xxxx");
  m.set("big", "x".repeat(11));
  assert.is(m.get("big"), undefined);
  assert.is(m.size, 2);
});

test.run();
