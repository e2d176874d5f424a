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

test.run();
