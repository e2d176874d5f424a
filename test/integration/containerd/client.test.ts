// ContainerdClient against a real containerd (CONTAINERD_ADDRESS, default /run/containerd/containerd.sock), in a
// namespace of its own that the suite removes at the end.
import { createHash, randomBytes } from "node:crypto";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  AlreadyExistsError,
  CancelledError,
  EngineUnavailableError,
  InvalidArgumentError,
  NotFoundError,
} from "../../../src/common/errors.js";
import { GC } from "../../../src/common/labels.js";
import { ContainerdClient, type ContainerdEvent } from "../../../src/containerd/index.js";
import { Connection } from "../../../src/containerd/connection.js";

const address = process.env.CONTAINERD_ADDRESS || "/run/containerd/containerd.sock";
const ns = `svcd-it-containerd-${randomBytes(4).toString("hex")}`;
const client = new ContainerdClient({ address, namespace: ns });
const createdNamespaces = new Set<string>([ns]);
const createdDigests = new Set<string>();

const sha256 = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

async function readAll(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of it) parts.push(b);
  return Buffer.concat(parts);
}

// Yields `data` in uneven pieces, to exercise re-chunking to 1 MiB writes.
async function* pieces(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function statusRefs(): Promise<string[]> {
  return (await client.content.listStatuses({ filters: [] })).statuses.map((s) => s.ref);
}

test.after(async () => {
  for (const digest of createdDigests) await client.content.delete({ digest }).catch(() => {});
  for (const name of createdNamespaces) await client.namespaces.delete({ name }).catch(() => {});
  client.close();
});

test("serverVersion reports containerd's version", async () => {
  const v = await client.serverVersion({ timeoutMs: 5_000 });
  assert.match(v.version, /^v?\d+\.\d+/);
  assert.type(v.revision, "string");
});

test("namespaces: create, get, list, update labels, delete", async () => {
  const res = await client.namespaces.create({ namespace: { name: ns, labels: { "svcd.io/test": "containerd-client" } } });
  assert.is(res.namespace?.name, ns);
  const other = `${ns}-b`;
  createdNamespaces.add(other);
  await client.namespaces.create({ namespace: { name: other } });
  try {
    await client.namespaces.create({ namespace: { name: other } });
    assert.unreachable("a second create must fail");
  } catch (err) {
    assert.instance(err, AlreadyExistsError);
  }
  const names = (await client.namespaces.list({})).namespaces.map((n) => n.name);
  assert.ok(names.includes(ns) && names.includes(other));
  await client.namespaces.update({ namespace: { name: other, labels: { a: "1" } }, update_mask: { paths: ["labels.a"] } });
  assert.equal((await client.namespaces.get({ name: other })).namespace?.labels, { a: "1" });
  await client.namespaces.delete({ name: other });
  assert.not.ok((await client.namespaces.list({})).namespaces.some((n) => n.name === other));
  try {
    await client.namespaces.delete({ name: other }); // (Get answers for any name; Delete checks existence)
    assert.unreachable("deleting a deleted namespace must fail");
  } catch (err) {
    assert.instance(err, NotFoundError);
    assert.match((err as Error).message, "Namespaces.Delete");
  }
});

test("writeContent then readContent gives the same bytes; labels are set; a second write reports existed", async () => {
  const data = randomBytes(2 * 1024 * 1024 + 12_345);
  const digest = sha256(data);
  createdDigests.add(digest);
  const labels = { [GC.root]: "test", "svcd.io/test": "blob" };
  const res = await client.writeContent({ ref: `it-${digest}`, expected: digest, total: data.length, labels, source: pieces(data, 300_000) });
  assert.equal(res, { digest, existed: false });
  assert.ok((await readAll(client.readContent(digest))).equals(data));
  assert.ok((await readAll(client.readContent(digest, { offset: 100, size: 50 }))).equals(data.subarray(100, 150)));
  const info = (await client.content.info({ digest })).info;
  assert.is(info?.size, data.length);
  assert.equal(info?.labels, labels);

  const again = await client.writeContent({ ref: `it-again-${digest}`, expected: digest, total: data.length, labels: { "svcd.io/extra": "x" }, source: data });
  assert.equal(again, { digest, existed: true });
  assert.equal((await client.content.info({ digest })).info?.labels, { ...labels, "svcd.io/extra": "x" });
});

test("writeContent resumes an unfinished ingest of the same ref from containerd's offset", async () => {
  const data = randomBytes(1536 * 1024);
  const digest = sha256(data);
  createdDigests.add(digest);
  const ref = `it-resume-${randomBytes(4).toString("hex")}`;
  // Leave a half-written ingest behind: STAT, one WRITE, then close the stream without COMMIT.
  const conn = new Connection(client.address);
  try {
    const write = conn.registry.service("containerd.services.content.v1.Content").Write!;
    const call = conn.bidi<object, { offset: number }>(write, "Content.Write", { namespace: ns });
    const answers: { offset: number }[] = [];
    const done = new Promise<void>((resolve, reject) => {
      call.on("data", (m: { offset: number }) => answers.push(m));
      call.on("error", reject);
      call.on("status", () => resolve());
    });
    call.write({ action: "STAT", ref, total: data.length, expected: digest });
    call.write({ action: "WRITE", ref, offset: 0, data: data.subarray(0, 512 * 1024) });
    call.end();
    await done;
    // (containerd repeats its last answer when the client half-closes)
    assert.equal(answers.slice(0, 2).map((a) => Number(a.offset)), [0, 512 * 1024]);
  } finally {
    conn.close();
  }
  const status = (await client.content.status({ ref })).status;
  assert.is(Number(status?.offset), 512 * 1024);
  // The resumed write must skip what containerd has; a source differing in that prefix proves it was skipped.
  const source = Buffer.concat([Buffer.alloc(512 * 1024), data.subarray(512 * 1024)]);
  const res = await client.writeContent({ ref, expected: digest, total: data.length, labels: { [GC.root]: "test" }, source });
  assert.equal(res, { digest, existed: false });
  assert.ok((await readAll(client.readContent(digest))).equals(data));
});

test("writeContent with a wrong expected digest fails typed and leaves neither blob nor ingest", async () => {
  const data = randomBytes(70_000);
  const wrong = sha256(Buffer.from("something else"));
  const ref = `it-wrong-${randomBytes(4).toString("hex")}`;
  try {
    await client.writeContent({ ref, expected: wrong, total: data.length, labels: { [GC.root]: "test" }, source: data });
    assert.unreachable("must fail");
  } catch (err) {
    assert.instance(err, InvalidArgumentError);
    assert.match((err as Error).message, "Content.Write");
  }
  for (const digest of [wrong, sha256(data)]) {
    try {
      await client.content.info({ digest });
      assert.unreachable(`${digest} must not exist`);
    } catch (err) {
      assert.instance(err, NotFoundError);
    }
  }
  assert.not.ok((await statusRefs()).includes(ref));
});

test("aborting a write cancels it and aborts the ingest", async () => {
  const ctrl = new AbortController();
  const ref = `it-abort-${randomBytes(4).toString("hex")}`;
  const chunk = randomBytes(1024 * 1024);
  let sent = 0;
  async function* source(): AsyncGenerator<Buffer> {
    for (;;) {
      sent++;
      if (sent === 3) ctrl.abort(new Error("test abort"));
      yield chunk;
    }
  }
  try {
    await client.writeContent({ ref, expected: sha256(Buffer.from("x")), total: 10 * chunk.length, source: source(), signal: ctrl.signal });
    assert.unreachable("must be cancelled");
  } catch (err) {
    assert.instance(err, CancelledError);
  }
  assert.not.ok((await statusRefs()).includes(ref));
});

test("a blob written under withLeaseScope without a GC root is collected once the lease is gone", async () => {
  const data = randomBytes(10_000);
  const digest = sha256(data);
  createdDigests.add(digest);
  const seenLease = await client.withLeaseScope(
    async (leased, leaseId) => {
      assert.is(leased.lease, leaseId);
      await leased.writeContent({ ref: `it-lease-${digest}`, expected: digest, total: data.length, source: data });
      const resources = (await client.leases.listResources({ id: leaseId })).resources;
      assert.ok(resources.some((r) => r.id === digest && r.type === "content"), JSON.stringify(resources));
      assert.is((await client.content.info({ digest })).info?.size, data.length);
      const lease = (await client.leases.list({ filters: [`id==${leaseId}`] })).leases[0];
      assert.ok(lease?.labels[GC.expire], "lease carries an expiry");
      return leaseId;
    },
    { syncDelete: true, labels: { "svcd.io/test": "lease" } },
  );
  assert.is((await client.leases.list({ filters: [`id==${seenLease}`] })).leases.length, 0);
  try {
    await client.content.info({ digest });
    assert.unreachable("the blob must have been garbage-collected");
  } catch (err) {
    assert.instance(err, NotFoundError);
  }
});

test("subscribe receives the /namespaces/create event of a namespace we create, and ends on abort", async () => {
  const ctrl = new AbortController();
  const timeout = setTimeout(() => ctrl.abort(new Error("no event within 10 s")), 10_000);
  const name = `${ns}-ev`;
  createdNamespaces.add(name);
  const events = client.subscribe(['topic=="/namespaces/create"'], { signal: ctrl.signal })[Symbol.asyncIterator]();
  const first = events.next(); // opens the stream
  // A round trip on the same connection after the Subscribe stream opened, so containerd has registered it.
  await client.serverVersion();
  await client.namespaces.create({ namespace: { name, labels: { "svcd.io/test": "event" } } });
  let got: ContainerdEvent | undefined;
  for (let next = await first; !next.done; next = await events.next()) {
    if (next.value.event.name === name) {
      got = next.value;
      break;
    }
  }
  clearTimeout(timeout);
  assert.ok(got, "event received before the timeout");
  assert.is(got?.topic, "/namespaces/create");
  assert.is(got?.type, "containerd.events.NamespaceCreate");
  assert.equal(got?.event.labels, { "svcd.io/test": "event" });
  assert.instance(got?.timestamp, Date);

  const pending = events.next();
  ctrl.abort();
  assert.equal(await pending, { done: true, value: undefined });
  await client.namespaces.delete({ name });
});

test("readContent of an unknown digest is NotFound; a bad digest is rejected before any call", async () => {
  try {
    await readAll(client.readContent(`sha256:${"0".repeat(64)}`));
    assert.unreachable("must fail");
  } catch (err) {
    assert.instance(err, NotFoundError);
  }
  try {
    await readAll(client.readContent("not-a-digest"));
    assert.unreachable("must fail");
  } catch (err) {
    assert.instance(err, InvalidArgumentError);
  }
});

test("a missing socket fails fast with EngineUnavailableError naming it", async () => {
  const socket = `/run/svcd-no-such-${randomBytes(4).toString("hex")}.sock`;
  const missing = new ContainerdClient({ address: socket, namespace: ns });
  const started = Date.now();
  try {
    await missing.serverVersion();
    assert.unreachable("must fail");
  } catch (err) {
    assert.instance(err, EngineUnavailableError);
    assert.match((err as Error).message, socket);
    assert.match((err as Error).message, "apt-get install containerd runc");
  } finally {
    missing.close();
  }
  assert.ok(Date.now() - started < 2_000, `took ${Date.now() - started} ms`);
});

test("a call with an already-aborted signal is cancelled without reaching containerd", async () => {
  try {
    await client.version.version({}, { signal: AbortSignal.abort() });
    assert.unreachable("must fail");
  } catch (err) {
    assert.instance(err, CancelledError);
  }
});

test.run();
