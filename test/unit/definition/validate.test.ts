import { test } from "uvu";
import * as assert from "uvu/assert";
import { isCode } from "../../helpers/errors.js";
import { assertDnsLabel, assertPort, canonicalJson, digestOf, resolveContainerPath } from "../../../src/definition/index.js";

test("container paths resolve against the workdir", () => {
  assert.is(resolveContainerPath("index.html", "/srv", "p"), "/srv/index.html");
  assert.is(resolveContainerPath("/etc/x", "/srv", "p"), "/etc/x");
  assert.is(resolveContainerPath("a/../b/./c", "/srv", "p"), "/srv/b/c");
  assert.is(resolveContainerPath("..", "/srv", "p"), "/");
});

test("paths that climb above the root are rejected", () => {
  for (const p of ["../../etc/shadow", "/../etc/shadow", "a/../../../x"]) {
    assert.throws(() => resolveContainerPath(p, "/srv", "file path"), isCode("INVALID_ARGUMENT", /escapes/));
  }
  assert.throws(() => resolveContainerPath("a\0b", "/", "p"), isCode("INVALID_ARGUMENT"));
  assert.throws(() => resolveContainerPath("", "/", "p"), isCode("INVALID_ARGUMENT"));
});

test("only DNS labels pass as aliases", () => {
  assertDnsLabel("www", "alias");
  assertDnsLabel("db-1", "alias");
  for (const bad of ["www\n1.2.3.4 evil", "a b", "#x", "-a", "A", "", "a".repeat(64), "a.b"]) {
    assert.throws(() => assertDnsLabel(bad, "alias"), isCode("INVALID_ARGUMENT"), JSON.stringify(bad));
  }
});

test("ports are integers from 1 to 65535", () => {
  assertPort(1);
  assertPort(65535);
  for (const bad of [0, 65536, 1.5, -1, NaN, "80"]) assert.throws(() => assertPort(bad), isCode("INVALID_ARGUMENT"));
});

test("canonical JSON sorts keys and drops undefined; digests follow", () => {
  assert.is(canonicalJson({ b: 1, a: { d: undefined, c: [2, 1] } }), '{"a":{"c":[2,1]},"b":1}');
  assert.is(digestOf({ a: 1, b: 2 }), digestOf({ b: 2, a: 1 }));
  assert.is.not(digestOf([1, 2]), digestOf([2, 1]));
});

test.run();
