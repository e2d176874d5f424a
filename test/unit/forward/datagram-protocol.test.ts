// The IPC protocol's host-service and UDP messages (issue 5): well-formed ones pass, anything else is an InternalError;
// protocols are validated before anything is sent.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { SvcdError } from "../../../src/common/errors.js";
import { checkProtocol, MAX_DATAGRAM_BYTES, parseAgentMessage, parseEngineMessage } from "../../../src/forward/agent-protocol.js";
import { SendBudget } from "../../../src/forward/send-budget.js";

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(SvcdError.is(err), String(err));
    return err.code;
  }
  return "none";
}

const data = Buffer.from("hello").toString("base64");
const peer = { address: "10.87.0.5", port: 40000 };

test("engine messages round-trip", () => {
  const msgs = [
    { id: 1, op: "host-listen", forwardId: "host-1", address: "10.87.255.1", port: 3306, protocol: "TCP" },
    { id: 2, op: "host-listen", forwardId: "host-2", address: "fd00::1", port: 53, protocol: "UDP" },
    { id: 3, op: "listen-datagrams", forwardId: "udp-3", target: { ip: "10.87.0.2", port: 53 }, idleMs: 60_000 },
    { op: "datagram", forwardId: "udp-3", peer, data },
    { op: "datagram", forwardId: "udp-3", peer, data: "" },
  ];
  for (const m of msgs) assert.equal(parseEngineMessage(m), m);
});

test("malformed engine messages are InternalErrors", () => {
  const bad = [
    { id: 1, op: "host-listen", forwardId: "h", address: "db", port: 3306, protocol: "TCP" },
    { id: 1, op: "host-listen", forwardId: "h", address: "10.87.255.1", port: 0, protocol: "TCP" },
    { id: 1, op: "host-listen", forwardId: "h", address: "10.87.255.1", port: 3306, protocol: "tcp" },
    { op: "host-listen", forwardId: "h", address: "10.87.255.1", port: 3306, protocol: "TCP" },
    { id: 1, op: "listen-datagrams", forwardId: "u", target: { ip: "10.87.0.2", port: 53 } },
    { id: 1, op: "listen-datagrams", forwardId: "u", target: { ip: "10.87.0.2", port: 53 }, idleMs: 0 },
    { id: 1, op: "listen-datagrams", forwardId: "u", target: { ip: "x", port: 53 }, idleMs: 10 },
    { op: "datagram", forwardId: "u", peer: { address: "x", port: 1 }, data },
    { op: "datagram", forwardId: "u", peer: { address: "10.0.0.1", port: 0 }, data },
    { op: "datagram", forwardId: "u", peer, data: "not base64!" },
    { op: "datagram", forwardId: "u", peer, data: 5 },
    { op: "datagram", forwardId: "u", peer, data: "A".repeat(Math.ceil(MAX_DATAGRAM_BYTES / 3) * 4 + 4) },
    { op: "datagram", forwardId: "u u", peer, data },
  ];
  for (const m of bad) assert.is(code(() => parseEngineMessage(m)), "INTERNAL", JSON.stringify(m).slice(0, 120));
});

test("agent events round-trip; malformed ones are InternalErrors", () => {
  for (const m of [{ type: "accepted", forwardId: "host-1" }, { type: "datagram", forwardId: "host-1", peer, data }]) {
    assert.equal(parseAgentMessage(m), m);
  }
  for (const m of [{ type: "accepted" }, { type: "datagram", forwardId: "h", peer, data: "%%%%" }, { type: "datagram", forwardId: "h", data }]) {
    assert.is(code(() => parseAgentMessage(m)), "INTERNAL", JSON.stringify(m));
  }
});

test("checkProtocol takes TCP and UDP only", () => {
  assert.is(code(() => checkProtocol("TCP")), "none");
  assert.is(code(() => checkProtocol("UDP")), "none");
  for (const bad of ["tcp", "SCTP", undefined]) assert.is(code(() => checkProtocol(bad)), "INVALID_ARGUMENT");
});

test("SendBudget refuses what does not fit and counts drops", () => {
  const b = new SendBudget(10);
  assert.ok(b.take(6));
  assert.not.ok(b.take(5));
  assert.is(b.dropped, 1);
  b.give(6);
  assert.ok(b.take(10));
  assert.not.ok(b.take(1));
});

test.run();
