// The automatic GC's knobs: sizes and durations from the environment, typed errors naming the variable, defaults.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isCode } from "../../helpers/errors.js";
import { DEFAULT_MAX_AGE_MS, gcPolicyFromEnv, parseDuration, parseSize } from "../../../src/engine/prune/gc-policy.js";

test("sizes take decimal and binary units", () => {
  assert.is(parseSize("0", "x"), 0);
  assert.is(parseSize("1048576", "x"), 1048576);
  assert.is(parseSize("500MB", "x"), 500e6);
  assert.is(parseSize("2GiB", "x"), 2 * 2 ** 30);
  assert.is(parseSize("1.5kb", "x"), 1500);
});

test("durations take ms, s, m, h, d", () => {
  assert.is(parseDuration("250", "x"), 250);
  assert.is(parseDuration("90s", "x"), 90_000);
  assert.is(parseDuration("48h", "x"), 48 * 3600e3);
  assert.is(parseDuration("60d", "x"), DEFAULT_MAX_AGE_MS);
});

test("bad values are InvalidArgumentError naming the variable", () => {
  for (const bad of ["", "-1", "ten", "5 parsecs", "1e3", "9".repeat(30)]) {
    assert.throws(() => gcPolicyFromEnv({ SVCD_CACHE_KEEP_STORAGE: bad || " " }, "/"), isCode("INVALID_ARGUMENT", /SVCD_CACHE_KEEP_STORAGE/));
  }
  assert.throws(() => gcPolicyFromEnv({ SVCD_CACHE_MAX_AGE: "soon" }, "/"), isCode("INVALID_ARGUMENT", /SVCD_CACHE_MAX_AGE/));
});

test("defaults: 10 % of the disk holding the directory (its nearest existing ancestor), 60 days", () => {
  const p = gcPolicyFromEnv({}, "/nonexistent/svcd/state");
  assert.ok(p.keepStorageBytes > 0 && Number.isSafeInteger(p.keepStorageBytes));
  assert.is(p.maxAgeMs, DEFAULT_MAX_AGE_MS);
  assert.equal(gcPolicyFromEnv({ SVCD_CACHE_KEEP_STORAGE: "1GB", SVCD_CACHE_MAX_AGE: "1h" }, "/"), { keepStorageBytes: 1e9, maxAgeMs: 3600e3 });
});

test.run();
