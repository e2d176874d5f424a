import { test } from "uvu";
import * as assert from "uvu/assert";
import { isCode } from "../../helpers/errors.js";
import {
  MAX_ARG_BYTES,
  MAX_INLINE_BYTES,
  assertArgs,
  assertEnvValue,
  assertCallOptions,
  assertDialHost,
  assertDnsLabel,
  assertId,
  assertInlineData,
  assertOneOf,
  assertOptionalBoolean,
  assertOptions,
  assertPort,
  assertString,
  builderWorkdir,
  canonicalJson,
  digestOf,
  resolveContainerPath,
} from "../../../src/definition/index.js";

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

test("errors name the parameter and quote the value, so a newline or NUL cannot forge a line", () => {
  assert.throws(() => assertString("a\0b", "file path"), isCode("INVALID_ARGUMENT", /^file path "a\\u0000b" must not contain a NUL byte$/));
  assert.throws(() => assertDnsLabel("www\n1.2.3.4 evil", "service alias"), isCode("INVALID_ARGUMENT", /service alias "www\\n1\.2\.3\.4 evil"/));
  assert.throws(() => assertPort(1.5, "frontend port"), isCode("INVALID_ARGUMENT", /invalid frontend port 1\.5/));
  // Long values are cut, not echoed whole.
  assert.throws(() => assertDnsLabel("a".repeat(5000), "hostname"), (e: unknown) => isCode("INVALID_ARGUMENT")(e) && (e as Error).message.length < 200);
});

test("ids are 1–128 characters without control characters", () => {
  assertId("session-1 ü", "sessionId");
  for (const bad of ["", "a\nb", "a\u0000", "\u007f", "a".repeat(129), 7]) {
    assert.throws(() => assertId(bad, "sessionId"), isCode("INVALID_ARGUMENT", /sessionId/), JSON.stringify(bad));
  }
});

test("inline data is capped at MAX_INLINE_BYTES of UTF-8", () => {
  assertInlineData("x".repeat(MAX_INLINE_BYTES), "contents");
  assert.throws(() => assertInlineData("x".repeat(MAX_INLINE_BYTES + 1), "contents"), isCode("INVALID_ARGUMENT", /contents is 8388609 bytes/));
  // Counted in bytes, not UTF-16 units: 'é' is two bytes.
  assert.throws(() => assertInlineData("é".repeat(MAX_INLINE_BYTES / 2 + 1), "contents"), isCode("INVALID_ARGUMENT"));
});

test("an argument or NAME=value entry is at most MAX_ARG_BYTES (Linux's MAX_ARG_STRLEN less the NUL)", () => {
  assertArgs(["x".repeat(MAX_ARG_BYTES)], "command");
  assert.throws(() => assertArgs(["echo", "x".repeat(MAX_ARG_BYTES + 1)], "command"), isCode("INVALID_ARGUMENT", /command\[1\] is 131072 bytes/));
  assertEnvValue("A", "x".repeat(MAX_ARG_BYTES - 2));
  assert.throws(() => assertEnvValue("A", "x".repeat(MAX_ARG_BYTES - 1)), isCode("INVALID_ARGUMENT", /environment entry A=/));
});

test("options are objects, booleans are booleans, enums are closed", () => {
  assertOptions(undefined, "o");
  assertOptions({}, "o");
  for (const bad of [null, "x", 1, []]) assert.throws(() => assertOptions(bad, "withExec options"), isCode("INVALID_ARGUMENT", /withExec options/));
  assertOptionalBoolean(undefined, "b");
  assertOptionalBoolean(false, "b");
  for (const bad of ["false", 0, 1, null]) assert.throws(() => assertOptionalBoolean(bad, "readOnly"), isCode("INVALID_ARGUMENT", /readOnly/));
  assertOneOf("TCP", ["TCP", "UDP"], "protocol");
  assert.throws(() => assertOneOf("SCTP", ["TCP", "UDP"], "protocol"), isCode("INVALID_ARGUMENT", /protocol "SCTP"/));
});

test("call options: an object whose signal, if any, is an AbortSignal", () => {
  assertCallOptions(undefined, "sync options");
  assertCallOptions({}, "sync options");
  assertCallOptions({ signal: new AbortController().signal }, "sync options");
  for (const bad of [null, "x", { signal: "x" }, { signal: { aborted: false } }]) {
    assert.throws(() => assertCallOptions(bad, "sync options"), isCode("INVALID_ARGUMENT", /sync options/), JSON.stringify(bad));
  }
});

test("dial hosts are IP literals without zones or DNS names", () => {
  for (const ok of ["localhost", "127.0.0.1", "::1", "::ffff:127.0.0.1", "db.internal", "DB.Example.com", "a-b.c1", "1.2.3.x"]) assertDialHost(ok);
  for (const bad of ["", "evil host", "a\nb", "a..b", ".a", "a.", "-a", "a-", "1.2.3.4.5", "999.1.1.1", "fe80::1%eth0", ":::1", "[::1]", "a_b", "x@y", "a".repeat(64), "a.".repeat(127) + "a"]) {
    assert.throws(() => assertDialHost(bad), isCode("INVALID_ARGUMENT", /host/), JSON.stringify(bad));
  }
});

test("builders resolve paths against their own withWorkdir chain, from / after each from()", () => {
  assert.is(builderWorkdir([]), "/");
  assert.is(builderWorkdir([{ op: "workdir", path: "/srv" }, { op: "workdir", path: "app" }]), "/srv/app");
  assert.is(builderWorkdir([{ op: "workdir", path: "/srv" }, { op: "from", ref: "busybox" }]), "/");
  assert.throws(() => resolveContainerPath("../../x", builderWorkdir([{ op: "workdir", path: "/srv" }]), "file path"), isCode("INVALID_ARGUMENT", /file path "\.\.\/\.\.\/x" escapes/));
});

test("canonical JSON sorts keys and drops undefined; digests follow", () => {
  assert.is(canonicalJson({ b: 1, a: { d: undefined, c: [2, 1] } }), '{"a":{"c":[2,1]},"b":1}');
  assert.is(digestOf({ a: 1, b: 2 }), digestOf({ b: 2, a: 1 }));
  assert.is.not(digestOf([1, 2]), digestOf([2, 1]));
});

test.run();
