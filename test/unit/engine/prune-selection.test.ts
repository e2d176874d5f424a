// The build-cache GC's choice of steps: least recently used first, leaves before parents, never pinned ones or their
// ancestors, within the budget and age limits; the policy is the age rule then the budget rule.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { selectByPolicy, selectForPrune, type CacheEntry } from "../../../src/engine/prune/selection.js";

const NOW = 1_000_000;
const step = (key: string, lastUsedMs: number, bytes = 10, parent = "image", pinned = false): CacheEntry => ({ key, parent, bytes, lastUsedMs, pinned });

test("a budget removes least recently used steps until the total fits", () => {
  const entries = [step("a", 100), step("b", 300), step("c", 200), step("d", 400)];
  const s = selectForPrune(entries, { keepStorageBytes: 20 }, NOW);
  assert.equal(s.keys, ["a", "c"]);
  assert.is(s.bytes, 20);
  assert.is(s.totalBytes, 40);
});

test("a budget already met removes nothing; zero removes every unpinned step", () => {
  const entries = [step("a", 100), step("b", 300)];
  assert.equal(selectForPrune(entries, { keepStorageBytes: 20 }, NOW).keys, []);
  assert.equal(selectForPrune(entries, { keepStorageBytes: 0 }, NOW).keys, ["a", "b"]);
});

test("olderThanMs removes only steps unused for longer; both limits: old ones only, until within budget", () => {
  const entries = [step("a", NOW - 500), step("b", NOW - 50), step("c", NOW - 400)];
  assert.equal(selectForPrune(entries, { olderThanMs: 100 }, NOW).keys, ["a", "c"]);
  assert.equal(selectForPrune(entries, { olderThanMs: 100, keepStorageBytes: 20 }, NOW).keys, ["a"]);
  assert.equal(selectForPrune(entries, { olderThanMs: 1000 }, NOW).keys, []);
});

test("no limits: everything not pinned", () => {
  const entries = [step("a", 1), step("b", 2, 10, "image", true)];
  assert.equal(selectForPrune(entries, {}, NOW).keys, ["a"]);
});

test("children go before their parent, and a parent is as recent as its newest descendant", () => {
  // image ← p (old) ← c (new); q is in between: LRU by subtree recency removes q before p's chain.
  const entries = [step("p", 10), step("c", 300, 10, "p"), step("q", 200)];
  assert.equal(selectForPrune(entries, { keepStorageBytes: 20 }, NOW).keys, ["q"]);
  assert.equal(selectForPrune(entries, { keepStorageBytes: 0 }, NOW).keys, ["q", "c", "p"]);
});

test("a pinned step holds its whole ancestry; its siblings may go", () => {
  const entries = [step("root", 1), step("mid", 2, 10, "root"), step("used", 3, 10, "mid", true), step("sib", 4, 10, "mid"), step("other", 5)];
  const s = selectForPrune(entries, { keepStorageBytes: 0 }, NOW);
  assert.equal(s.keys, ["sib", "other"]);
});

test("a parent becomes removable only once every child is gone", () => {
  const entries = [step("p", 1), step("c1", 5, 10, "p"), step("c2", 9, 10, "p")];
  // Budget 20 of 30: one step must go — the oldest leaf (c1), not the older parent that still has children.
  assert.equal(selectForPrune(entries, { keepStorageBytes: 20 }, NOW).keys, ["c1"]);
});

test("a deep chain is handled without recursion", () => {
  const entries: CacheEntry[] = [];
  for (let i = 0; i < 50_000; i++) entries.push(step(`k${i}`, i, 1, i === 0 ? "image" : `k${i - 1}`));
  const s = selectForPrune(entries, { keepStorageBytes: 0 }, NOW);
  assert.is(s.keys.length, 50_000);
  assert.is(s.keys[0], "k49999");
  assert.is(s.keys.at(-1), "k0");
});

test("the policy removes what is too old, then trims the rest to the budget", () => {
  const entries = [step("ancient", NOW - 10_000, 1), step("old", NOW - 300), step("new", NOW - 100), step("newest", NOW - 10)];
  const s = selectByPolicy(entries, { maxAgeMs: 5_000, keepStorageBytes: 20 }, NOW);
  assert.equal(s.keys, ["ancient", "old"]);
  // Within budget: only the age rule acts.
  assert.equal(selectByPolicy(entries, { maxAgeMs: 5_000, keepStorageBytes: 1_000 }, NOW).keys, ["ancient"]);
});

test.run();
