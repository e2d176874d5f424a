// Every unary containerd call gets a deadline: the policy, and a call to a server that never answers failing with
// TimeoutError (an in-process gRPC server on a temp unix socket stands in for a hung containerd).
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as grpc from "@grpc/grpc-js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SvcdError } from "../../../src/common/errors.js";
import { ContainerdClient, callTimeoutMs, DEFAULT_CALL_TIMEOUT_MS, SLOW_CALL_TIMEOUT_MS } from "../../../src/containerd/index.js";
import { ProtoRegistry } from "../../../src/containerd/proto-registry.js";

test("ordinary calls 30 s, slow ones 10 min, Tasks.Wait none; the caller's timeoutMs wins", () => {
  assert.is(callTimeoutMs("Containers.List", undefined), DEFAULT_CALL_TIMEOUT_MS);
  assert.is(DEFAULT_CALL_TIMEOUT_MS, 30_000);
  for (const slow of ["Diff.Apply", "Snapshots.Commit", "Tasks.Delete", "Tasks.Create", "Leases.Delete"]) {
    assert.is(callTimeoutMs(slow, undefined), SLOW_CALL_TIMEOUT_MS, slow);
  }
  assert.is(callTimeoutMs("Tasks.Wait", undefined), undefined);
  assert.is(callTimeoutMs("Tasks.Wait", 500), 500);
  assert.is(callTimeoutMs("Diff.Apply", 1234), 1234);
  assert.is(callTimeoutMs("Version.Version", undefined, { defaultMs: 50 }), 50);
  assert.is(callTimeoutMs("Diff.Apply", undefined, { defaultMs: 50, slowMs: 70 }), 70);
  for (const bad of [0, -1, Number.NaN, Infinity]) {
    assert.throws(() => callTimeoutMs("Version.Version", bad), (e: unknown) => SvcdError.is(e) && e.code === "INVALID_ARGUMENT");
  }
  assert.throws(() => new ContainerdClient({ address: "/x.sock", namespace: "n", deadlines: { defaultMs: -5 } }), /deadlines\.defaultMs/);
});

test("a unary call to a containerd that never answers fails with TimeoutError naming the call and the deadline", async () => {
  const dir = mkdtempSync(join(tmpdir(), "svcd-deadline-"));
  const socket = join(dir, "hung.sock");
  const server = new grpc.Server();
  const service = new ProtoRegistry().service("containerd.services.version.v1.Version");
  server.addService(service as unknown as grpc.ServiceDefinition, { Version: () => {} }); // never calls back
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  const client = new ContainerdClient({ address: socket, namespace: "default", deadlines: { defaultMs: 200 } });
  try {
    const outcome = await Promise.race([
      client.serverVersion().then(() => "answered", (e: unknown) => e),
      new Promise((r) => setTimeout(() => r("still waiting after 5 s"), 5000)),
    ]);
    assert.ok(SvcdError.is(outcome), String(outcome));
    assert.is(outcome.code, "TIMEOUT");
    assert.match(outcome.message, /Version\.Version/);
    assert.match(outcome.message, /within 200 ms/);
  } finally {
    client.close();
    server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
