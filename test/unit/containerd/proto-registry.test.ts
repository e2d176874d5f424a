// ProtoRegistry makes gRPC method definitions from one protobufjs Root instead of proto-loader's loadSync (issue 13):
// every method must have proto-loader's path and streaming flags, and its codecs must produce the same bytes and the
// same decoded objects (snake_case keys, int64 as numbers, enums as names, defaults filled in, oneofs named).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadSync, type MethodDefinition } from "@grpc/proto-loader";
import { LOADER_OPTIONS, ProtoRegistry } from "../../../src/containerd/proto-registry.js";

const registry = new ProtoRegistry();
const files = registry
  .types()
  .files.filter((f: string) => f.includes("/containerd/"))
  .map((f: string) => f.slice(f.lastIndexOf("/protos/") + "/protos/".length));
const reference = loadSync(files, { ...LOADER_OPTIONS, includeDirs: [registry.protosDir] });
const serviceNames = Object.keys(reference).filter((name) => name.startsWith("containerd.services.") && typeof (reference[name] as { format?: unknown }).format !== "string");

function pair(service: string, method: string): [MethodDefinition<object, object>, MethodDefinition<object, object>] {
  const ours = registry.service(service)[method];
  const theirs = (reference[service] as unknown as Record<string, MethodDefinition<object, object>>)[method];
  assert.ok(ours && theirs, `${service}.${method}`);
  return [ours!, theirs!];
}

test("every service proto-loader sees has the same methods, paths and streaming flags", () => {
  assert.ok(serviceNames.length >= 9, serviceNames.join(", "));
  for (const service of serviceNames) {
    const ours = registry.service(service);
    const theirs = reference[service] as unknown as Record<string, MethodDefinition<object, object>>;
    assert.equal(Object.keys(ours).sort(), Object.keys(theirs).sort(), service);
    for (const [name, def] of Object.entries(theirs)) {
      assert.is(ours[name]!.path, def.path);
      assert.is(ours[name]!.requestStream, def.requestStream, def.path);
      assert.is(ours[name]!.responseStream, def.responseStream, def.path);
    }
  }
});

test("codecs match proto-loader's: bytes, int64, enums, maps, timestamps, defaults, repeated messages", () => {
  const samples: [string, string, "request" | "response", object][] = [
    ["containerd.services.content.v1.Content", "Write", "request", { action: "WRITE", ref: "layer-x", total: 5_000_000_000, offset: 1024, data: Buffer.from("abc"), expected: "sha256:00", labels: { a: "b" } }],
    ["containerd.services.content.v1.Content", "Write", "response", { action: "COMMIT", offset: 7, total: 9, digest: "sha256:11", started_at: { seconds: 1_700_000_000, nanos: 5 } }],
    ["containerd.services.snapshots.v1.Snapshots", "Stat", "response", { info: { name: "n", parent: "p", kind: "COMMITTED", labels: { "containerd.io/gc.root": "x" }, created_at: { seconds: 3, nanos: 0 } } }],
    ["containerd.services.snapshots.v1.Snapshots", "Prepare", "response", { mounts: [{ type: "overlay", source: "overlay", target: "", options: ["lowerdir=/a", "upperdir=/b"] }] }],
    ["containerd.services.diff.v1.Diff", "Apply", "request", { diff: { media_type: "m", digest: "sha256:22", size: 42, annotations: {} }, mounts: [] }],
    ["containerd.services.images.v1.Images", "Get", "response", {}],
    ["containerd.services.leases.v1.Leases", "Delete", "request", { id: "l", sync: true }],
  ];
  for (const [service, method, side, value] of samples) {
    const [ours, theirs] = pair(service, method);
    const ser = side === "request" ? [ours.requestSerialize, theirs.requestSerialize] : [ours.responseSerialize, theirs.responseSerialize];
    const de = side === "request" ? [ours.requestDeserialize, theirs.requestDeserialize] : [ours.responseDeserialize, theirs.responseDeserialize];
    const bytes = ser[1]!(value);
    assert.equal(Buffer.from(ser[0]!(value)), Buffer.from(bytes), `${service}.${method} ${side}: encoded`);
    assert.equal(de[0]!(bytes), de[1]!(bytes), `${service}.${method} ${side}: decoded`);
  }
});

test("parsed once: a second registry shares the Root and the definitions", () => {
  const again = new ProtoRegistry();
  assert.is(again.types(), registry.types());
  assert.is(again.service("containerd.services.version.v1.Version"), registry.service("containerd.services.version.v1.Version"));
});

test.run();
