// The build cache's side of the GC protocol, against a scripted containerd: a key is marked in use before its Stat,
// a step found without its GC root is re-rooted (or is a miss when the pruner's GC won), outputs are read only when
// asked for, and the in-process memo is bounded.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { NotFoundError } from "../../../src/common/errors.js";
import { CACHE, GC } from "../../../src/common/labels.js";
import type { ContainerdClient } from "../../../src/containerd/index.js";
import { BuildCache } from "../../../src/engine/build-cache.js";
import type { InUseMarks } from "../../../src/engine/prune/in-use.js";

const recent = () => new Date().toISOString();

function fake(snapshots: Map<string, Record<string, string>>, blobs: Map<string, string>, calls: string[]) {
  const client = {
    snapshots: {
      stat: async ({ key }: { key: string }) => {
        calls.push(`stat ${key}`);
        const labels = snapshots.get(key);
        if (!labels) throw new NotFoundError(`snapshot ${key}`);
        return { info: { name: key, labels: { ...labels } } };
      },
      update: async ({ info }: { info: { name: string; labels: Record<string, string> } }) => {
        calls.push(`update ${info.name} ${Object.keys(info.labels).join(",")}`);
        const labels = snapshots.get(info.name);
        if (!labels) throw new NotFoundError(`snapshot ${info.name}`);
        Object.assign(labels, info.labels);
        return { info };
      },
    },
    async *readContent(digest: string) {
      calls.push(`read ${digest}`);
      yield Buffer.from(blobs.get(digest) ?? "");
    },
  };
  const marks = { mark: (key: string) => calls.push(`mark ${key}`), close: async () => {} };
  return { client: client as unknown as ContainerdClient, marks: marks as unknown as InUseMarks };
}

test("a hit is marked in use before its Stat and reads no output until asked", async () => {
  const calls: string[] = [];
  const snaps = new Map([["k", { [GC.root]: "x", [CACHE.lastUsed]: recent(), [CACHE.exitCode]: "0", [GC.refContent + "stdout"]: "sha256:out", [GC.refContent + "stderr"]: "sha256:err" }]]);
  const { client, marks } = fake(snaps, new Map([["sha256:out", "hello\n"], ["sha256:err", "warn\n"]]), calls);
  const cache = new BuildCache(client, "overlayfs", { inUse: marks });
  const step = await cache.lookup("k");
  assert.equal(calls, ["mark k", "stat k"]);
  assert.equal(step?.exec, { exitCode: 0, stdoutDigest: "sha256:out", stderrDigest: "sha256:err" });
  assert.equal(await cache.outputs(step!), { exitCode: 0, stdout: "hello\n", stderr: "warn\n" });
  assert.equal(calls.slice(2).sort(), ["read sha256:err", "read sha256:out"]);
  await cache.close();
});

test("a step found without its GC root is rooted again; gone by then, it is a miss", async () => {
  const calls: string[] = [];
  const snaps = new Map<string, Record<string, string>>([["k", { [CACHE.lastUsed]: recent() }]]);
  const { client, marks } = fake(snaps, new Map(), calls);
  const cache = new BuildCache(client, "overlayfs", { inUse: marks });
  assert.ok(await cache.lookup("k"));
  assert.ok(snaps.get("k")![GC.root], "re-rooted");

  // The pruner's GC removes it between our Stat and our update.
  const calls2: string[] = [];
  const snaps2 = new Map([["j", { [CACHE.lastUsed]: recent() }]]);
  const f2 = fake(snaps2, new Map(), calls2);
  const realStat = (f2.client.snapshots as unknown as { stat: (r: { key: string }) => Promise<unknown> }).stat;
  (f2.client.snapshots as unknown as { stat: unknown }).stat = async (req: { key: string }) => {
    const res = await realStat(req);
    snaps2.delete(req.key);
    return res;
  };
  const cache2 = new BuildCache(f2.client, "overlayfs", { inUse: f2.marks });
  assert.is(await cache2.lookup("j"), undefined);
});

test("an old last use is refreshed in the background; the memo is bounded", async () => {
  const calls: string[] = [];
  const snaps = new Map(["a", "b", "c"].map((k) => [k, { [GC.root]: "x", [CACHE.lastUsed]: "2000-01-01T00:00:00.000Z" }]));
  const { client, marks } = fake(snaps, new Map(), calls);
  const cache = new BuildCache(client, "overlayfs", { inUse: marks, memoSize: 2 });
  for (const k of ["a", "b", "c"]) await cache.lookup(k);
  await cache.close(); // waits for the refreshes
  for (const k of ["a", "b", "c"]) assert.ok(Date.parse(snaps.get(k)![CACHE.lastUsed]!) > Date.parse("2020-01-01"), `${k} refreshed`);
  calls.length = 0;
  await cache.lookup("c");
  await cache.lookup("a"); // evicted by c: asked again
  assert.equal(calls, ["mark a", "stat a"]);
});

test.run();
