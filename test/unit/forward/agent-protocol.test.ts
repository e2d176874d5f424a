// The IPC protocol's validators: well-formed messages pass unchanged, anything else is an InternalError.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { SvcdError } from "../../../src/common/errors.js";
import { checkEndpoint, parseAgentMessage, parseEngineMessage } from "../../../src/forward/agent-protocol.js";

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(SvcdError.is(err), String(err));
    return err.code;
  }
  return "none";
}

test("engine messages round-trip", () => {
  const msgs = [
    { id: 1, op: "probe", ip: "10.87.0.2", port: 8080, timeoutMs: 1000 },
    { id: 2, op: "probe", ip: "::1", port: 1, timeoutMs: 5 },
    { id: 3, op: "listen", forwardId: "fwd-1", target: { ip: "127.0.0.1", port: 65535 } },
    { id: 4, op: "unlisten", forwardId: "fwd-1" },
    { op: "adopt", forwardId: "fwd-1" },
  ];
  for (const m of msgs) assert.equal(parseEngineMessage(m), m);
});

test("engine messages: extra fields are dropped", () => {
  assert.equal(parseEngineMessage({ id: 1, op: "unlisten", forwardId: "a", evil: "x" }), { id: 1, op: "unlisten", forwardId: "a" });
});

test("malformed engine messages are InternalErrors", () => {
  const bad = [
    null, "probe", [], {}, { op: "exec" },
    { op: "probe", ip: "127.0.0.1", port: 80, timeoutMs: 1000 },
    { id: -1, op: "probe", ip: "127.0.0.1", port: 80, timeoutMs: 1000 },
    { id: 1.5, op: "probe", ip: "127.0.0.1", port: 80, timeoutMs: 1000 },
    { id: 1, op: "probe", ip: "localhost", port: 80, timeoutMs: 1000 },
    { id: 1, op: "probe", ip: "127.0.0.1", port: 0, timeoutMs: 1000 },
    { id: 1, op: "probe", ip: "127.0.0.1", port: "80", timeoutMs: 1000 },
    { id: 1, op: "probe", ip: "127.0.0.1", port: 80, timeoutMs: 0 },
    { id: 1, op: "probe", ip: "127.0.0.1", port: 80, timeoutMs: 600_000 },
    { id: 1, op: "listen", forwardId: "a b", target: { ip: "127.0.0.1", port: 80 } },
    { id: 1, op: "listen", forwardId: "a", target: { ip: "127.0.0.1", port: 70000 } },
    { id: 1, op: "listen", forwardId: "a" },
    { id: 1, op: "unlisten", forwardId: "x".repeat(65) },
    { op: "adopt", forwardId: "" },
  ];
  for (const m of bad) assert.is(code(() => parseEngineMessage(m)), "INTERNAL", JSON.stringify(m));
});

test("agent messages round-trip", () => {
  const msgs = [
    { type: "ready", pid: 42 },
    { type: "response", id: 7, ok: true },
    { type: "response", id: 7, ok: true, value: false },
    { type: "response", id: 8, ok: false, error: { code: "ALREADY_EXISTS", message: "forward fwd-1 exists already" } },
  ];
  for (const m of msgs) assert.equal(parseAgentMessage(m), m);
});

test("malformed agent messages are InternalErrors", () => {
  const bad = [
    undefined, { type: "ready" }, { type: "ready", pid: 0 }, { type: "hello" },
    { type: "response", ok: true },
    { type: "response", id: 1, ok: "yes" },
    { type: "response", id: 1, ok: true, value: "true" },
    { type: "response", id: 1, ok: false },
    { type: "response", id: 1, ok: false, error: { code: "E_NOPE", message: "x" } },
    { type: "response", id: 1, ok: false, error: { code: "INTERNAL" } },
  ];
  for (const m of bad) assert.is(code(() => parseAgentMessage(m)), "INTERNAL", JSON.stringify(m));
});

test("checkEndpoint accepts IP literals and ports 1..65535 only", () => {
  assert.is(code(() => checkEndpoint("10.0.0.1", 1)), "none");
  assert.is(code(() => checkEndpoint("fe80::1", 65535)), "none");
  for (const [ip, port] of [["10.0.0.1", 0], ["10.0.0.1", 65536], ["10.0.0.1", 8080.5], ["10.0.0.1", NaN], ["db", 80], ["10.0.0.1\n", 80], ["", 80], [undefined, 80]]) {
    assert.is(code(() => checkEndpoint(ip, port)), "INVALID_ARGUMENT", `${ip}:${port}`);
  }
});

test.run();
