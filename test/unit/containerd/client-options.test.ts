import { test } from "uvu";
import * as assert from "uvu/assert";
import { InvalidArgumentError } from "../../../src/common/errors.js";
import { ContainerdClient, assertDigest } from "../../../src/containerd/index.js";
import { socketPathOf } from "../../../src/containerd/connection.js";

const isInvalid = (e: unknown) => e instanceof InvalidArgumentError;

test("addresses: a path, unix:// and unix: forms give the socket path", () => {
  assert.is(socketPathOf("/run/containerd/containerd.sock"), "/run/containerd/containerd.sock");
  assert.is(socketPathOf("unix:///run/x.sock"), "/run/x.sock");
  assert.is(socketPathOf("unix:/run/x.sock"), "/run/x.sock");
  assert.throws(() => socketPathOf("tcp://127.0.0.1:1"), isInvalid);
  assert.throws(() => socketPathOf(""), isInvalid);
});

test("namespaces and lease ids are validated; copies share address and keep their scope", () => {
  assert.throws(() => new ContainerdClient({ address: "/x.sock", namespace: "bad ns" }), isInvalid);
  assert.throws(() => new ContainerdClient({ address: "/x.sock", namespace: "a".repeat(77) }), isInvalid);
  const c = new ContainerdClient({ address: "unix:///x.sock", namespace: "svcd" });
  assert.is(c.address, "/x.sock");
  const other = c.withNamespace("other").withLease("lease-1");
  assert.is(other.namespace, "other");
  assert.is(other.lease, "lease-1");
  assert.is(other.address, "/x.sock");
  assert.is(c.lease, undefined);
  assert.throws(() => c.withLease("-x"), isInvalid);
  assert.is(typeof c.tasks.wait, "function");
  assert.is(typeof c.content.listStatuses, "function");
  assert.is((c.content as unknown as Record<string, unknown>).write, undefined);
  c.close();
});

test("digests are validated before any call", () => {
  assertDigest("sha256:" + "a".repeat(64));
  assert.throws(() => assertDigest("sha256"), isInvalid);
  assert.throws(() => assertDigest("../etc/passwd"), isInvalid);
});

test.run();
