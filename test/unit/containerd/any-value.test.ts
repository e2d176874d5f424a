import { test } from "uvu";
import * as assert from "uvu/assert";
import { InvalidArgumentError } from "../../../src/common/errors.js";
import { TYPE_URL, jsonAny, timestampToDate } from "../../../src/containerd/index.js";
import { decodeAny } from "../../../src/containerd/any-value.js";
import { ProtoRegistry } from "../../../src/containerd/proto-registry.js";

test("jsonAny wraps JSON bytes under the type URL containerd and ctr expect", () => {
  const any = jsonAny(TYPE_URL.spec, { ociVersion: "1.0.2", process: { args: ["sh"] } });
  assert.is(any.type_url, "types.containerd.io/opencontainers/runtime-spec/1/Spec");
  assert.ok(Buffer.isBuffer(any.value));
  assert.equal(JSON.parse(any.value.toString("utf8")), { ociVersion: "1.0.2", process: { args: ["sh"] } });
  assert.is(TYPE_URL.process, "types.containerd.io/opencontainers/runtime-spec/1/Process");
});

test("jsonAny rejects an empty type URL and values JSON cannot carry", () => {
  assert.throws(() => jsonAny("", {}), (e: unknown) => e instanceof InvalidArgumentError);
  assert.throws(() => jsonAny(TYPE_URL.spec, undefined), (e: unknown) => e instanceof InvalidArgumentError);
});

test("timestampToDate keeps milliseconds", () => {
  assert.is(timestampToDate({ seconds: 1700000000, nanos: 123_456_789 })?.toISOString(), "2023-11-14T22:13:20.123Z");
  assert.is(timestampToDate(null), undefined);
});

test("decodeAny decodes an event payload by its bare message name", () => {
  const root = new ProtoRegistry().types();
  const TaskExit = root.lookupType("containerd.events.TaskExit");
  const value = Buffer.from(TaskExit.encode(TaskExit.fromObject({ container_id: "c1", id: "c1", pid: 42, exit_status: 3 })).finish());
  const decoded = decodeAny(root, { type_url: "containerd.events.TaskExit", value });
  assert.is(decoded.container_id, "c1");
  assert.is(decoded.pid, 42);
  assert.is(decoded.exit_status, 3);
  assert.equal(decodeAny(root, { type_url: "containerd.events.NoSuchThing", value }), {});
  assert.equal(decodeAny(root, { type_url: TYPE_URL.process, value: Buffer.from('{"args":["ls"]}') }), { args: ["ls"] });
});

test.run();
