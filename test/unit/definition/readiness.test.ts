// Readiness options in the definition (issue 11): `withHealthcheck` / `withoutHealthcheck` ops and `asService({
// waitForLog })`, recorded only when used (older definitions and digests unchanged), validated at the builder call
// and again, whole, at the engine's door (what a daemon receives off the wire).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Client } from "../../../src/api/client.js";
import {
  assertContainerDef,
  assertServiceDef,
  digestOf,
  MAX_HEALTHCHECK_MS,
  type ContainerDef,
  type ContainerServiceDef,
  type Engine,
} from "../../../src/definition/index.js";
import { isCode } from "../../helpers/errors.js";

// Builders never reach the engine: a client whose engine never resolves proves it.
const client = new Client(new Promise<Engine>(() => {}));
const base = () => client.container().from("busybox");
const svc = (opts: Parameters<ReturnType<typeof base>["asService"]>[0] = {}) => base().asService(opts).definition() as ContainerServiceDef;

test("withHealthcheck records the command and only the timings given; withoutHealthcheck its own op", () => {
  assert.equal(base().withHealthcheck(["true"]).definition().ops[1], { op: "healthcheck", args: ["true"] });
  assert.equal(base().withHealthcheck(["sh", "-c", "x"], { intervalMs: 100, retries: 2 }).definition().ops[1], {
    op: "healthcheck",
    args: ["sh", "-c", "x"],
    intervalMs: 100,
    retries: 2,
  });
  assert.equal(base().withHealthcheck(["a"], { timeoutMs: 5, startPeriodMs: 0 }).definition().ops[1], { op: "healthcheck", args: ["a"], timeoutMs: 5, startPeriodMs: 0 });
  assert.equal(base().withoutHealthcheck().definition().ops[1], { op: "unsetHealthcheck" });
  // The builder copies its input: changing the caller's array later changes nothing.
  const args = ["true"];
  const c = base().withHealthcheck(args);
  args.push("x");
  assert.equal(c.definition().ops[1], { op: "healthcheck", args: ["true"] });
});

test("waitForLog is recorded as { pattern, times }, absent when unset", () => {
  assert.is("waitForLog" in svc(), false);
  assert.equal(svc({ waitForLog: "^ready$" }).waitForLog, { pattern: "^ready$", times: 1 });
  assert.equal(svc({ waitForLog: { pattern: "ready" } }).waitForLog, { pattern: "ready", times: 1 });
  assert.equal(svc({ waitForLog: { pattern: "ready", times: 3 } }).waitForLog, { pattern: "ready", times: 3 });
  // Unused options leave the definition (and so every digest) as it was.
  assert.is(digestOf(svc({})), digestOf(svc()));
  assert.is.not(digestOf(svc({ waitForLog: "x" })), digestOf(svc()));
});

test("bad healthcheck input is an InvalidArgumentError naming the field", () => {
  const cases: [string, () => unknown, RegExp][] = [
    ["empty command", () => base().withHealthcheck([]), /healthcheck command must not be empty/],
    ["empty argument", () => base().withHealthcheck(["sh", ""]), /healthcheck command\[1\] must not be an empty string/],
    ["not strings", () => base().withHealthcheck([1 as unknown as string]), /healthcheck command\[0\] must be a string/],
    ["not an array", () => base().withHealthcheck("true" as unknown as string[]), /healthcheck command must be an array/],
    ["interval 0", () => base().withHealthcheck(["true"], { intervalMs: 0 }), /intervalMs 0/],
    ["interval 1.5", () => base().withHealthcheck(["true"], { intervalMs: 1.5 }), /intervalMs 1\.5/],
    ["timeout too long", () => base().withHealthcheck(["true"], { timeoutMs: MAX_HEALTHCHECK_MS + 1 }), /timeoutMs/],
    ["timeout a string", () => base().withHealthcheck(["true"], { timeoutMs: "5s" as unknown as number }), /timeoutMs "5s"/],
    ["retries 0", () => base().withHealthcheck(["true"], { retries: 0 }), /retries 0/],
    ["retries huge", () => base().withHealthcheck(["true"], { retries: 1e6 }), /retries/],
    ["negative start period", () => base().withHealthcheck(["true"], { startPeriodMs: -1 }), /startPeriodMs -1/],
    ["options null", () => base().withHealthcheck(["true"], null as unknown as {}), /withHealthcheck options/],
  ];
  for (const [name, call, message] of cases) assert.throws(call, isCode("INVALID_ARGUMENT", message), name);
});

test("bad waitForLog input is an InvalidArgumentError naming the field", () => {
  const cases: [string, unknown, RegExp][] = [
    ["does not compile", "(unclosed", /waitForLog "\(unclosed" is not a valid regular expression/],
    ["empty", "", /waitForLog must be a regular expression source/],
    ["too long", "x".repeat(2000), /waitForLog must be a regular expression source of 1 to 1024/],
    ["number", 5, /waitForLog must be a regular expression source or \{ pattern, times\? \}/],
    ["object without pattern", {}, /waitForLog\.pattern/],
    ["bad pattern in object", { pattern: "[" }, /waitForLog\.pattern "\[" is not a valid/],
    ["times 0", { pattern: "x", times: 0 }, /waitForLog\.times 0/],
    ["times 1.5", { pattern: "x", times: 1.5 }, /waitForLog\.times 1\.5/],
  ];
  for (const [name, value, message] of cases) {
    assert.throws(() => base().asService({ waitForLog: value as string }), isCode("INVALID_ARGUMENT", message), name);
  }
});

test("the engine's door accepts what the builders make and refuses hand-made bad readiness fields", () => {
  const good = base().withHealthcheck(["sh", "-c", "x"], { intervalMs: 10, timeoutMs: 20, retries: 3, startPeriodMs: 0 }).withoutHealthcheck()
    .withExposedPort(8080);
  assertContainerDef(good.definition());
  assertServiceDef(good.asService({ waitForLog: { pattern: "^ready$", times: 2 } }).definition());
  // What travels to the daemon is JSON: the readiness fields survive it as they are.
  const wire = JSON.parse(JSON.stringify(good.asService({ waitForLog: "ok" }).definition())) as ContainerServiceDef;
  assertServiceDef(wire);
  assert.equal(wire, good.asService({ waitForLog: "ok" }).definition());

  const withOp = (op: unknown): ContainerDef => ({ ops: [{ op: "from", ref: "busybox" }, op as ContainerDef["ops"][number]] });
  const ops: [string, unknown, RegExp][] = [
    ["no args", { op: "healthcheck", args: [] }, /ops\[1\]\.args must not be empty/],
    ["args not an array", { op: "healthcheck" }, /ops\[1\]\.args must be an array/],
    ["interval negative", { op: "healthcheck", args: ["true"], intervalMs: -5 }, /ops\[1\]\.intervalMs -5/],
    ["retries a string", { op: "healthcheck", args: ["true"], retries: "3" }, /ops\[1\]\.retries "3"/],
  ];
  for (const [name, op, message] of ops) assert.throws(() => assertContainerDef(withOp(op)), isCode("INVALID_ARGUMENT", message), name);
  assertContainerDef(withOp({ op: "unsetHealthcheck" }));

  const service = svc();
  for (const [name, waitForLog, message] of [
    ["a bare string", "ready", /waitForLog must be an object/],
    ["no times", { pattern: "ready" }, /waitForLog\.times undefined/],
    ["bad pattern", { pattern: "(", times: 1 }, /waitForLog\.pattern "\(" is not a valid/],
  ] as [string, unknown, RegExp][]) {
    assert.throws(() => assertServiceDef({ ...service, waitForLog }), isCode("INVALID_ARGUMENT", message), name);
  }
});

test.run();
