// Pull + unpack against the real containerd (CONTAINERD_ADDRESS) and a real registry (Debian's docker-registry,
// started by the test rig), plus a tiny misbehaving registry for the digest-mismatch case.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { ImageError, InvalidArgumentError, SvcdError } from "../../../src/common/errors.js";
import { HostProcessRunner } from "../../../src/common/process-runner.js";
import { ContainerdClient } from "../../../src/containerd/index.js";
import { chainIds, getImage, pullImage, RegistryClient, type PullProgress } from "../../../src/image/index.js";
import { GC } from "../../../src/common/labels.js";
import { pushTestImages, startRegistry, type RunningRegistry } from "../../rig/registry.js";
import { FakeRegistry } from "../../unit/image/helpers/fake-registry.js";
import { tinyImage, type TinyImage } from "../../unit/image/helpers/tiny-image.js";

const address = process.env.CONTAINERD_ADDRESS || "/run/containerd/containerd.sock";
const namespace = `svcd-dev-image-${process.pid}`;
const runner = new HostProcessRunner();
let client: ContainerdClient;
let registry: RunningRegistry;

function ctr(...args: string[]): string {
  return execFileSync("ctr", ["--address", address, "-n", namespace, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (SvcdError.is(err)) return `${err.constructor.name}:${err.code}`;
    throw err;
  }
  return "ok";
}

/** A RegistryClient whose requests are counted. */
function countingRegistry(mirror: string): { registry: RegistryClient; log: string[] } {
  const log: string[] = [];
  const counted: typeof fetch = (input, init) => {
    log.push(`${init?.method ?? "GET"} ${String(input)}`);
    return fetch(input, init);
  };
  return { registry: new RegistryClient({ runner, env: {}, mirrors: { "docker.io": mirror }, upstreamFallback: false, fetch: counted }), log };
}

test.before(async () => {
  client = new ContainerdClient({ address, namespace });
  registry = await startRegistry();
  await pushTestImages(registry.url, { images: ["busybox"] });
});

test.after(async () => {
  try {
    for (const name of ctr("images", "ls", "-q").split("\n").filter(Boolean)) ctr("images", "rm", "--sync", name);
    // Committed snapshots go with GC once the image is gone; remove what is left, top first.
    for (let round = 0; round < 10; round++) {
      const keys = ctr("snapshots", "ls").split("\n").slice(1).map((l) => l.split(/\s+/)[0]).filter(Boolean) as string[];
      if (keys.length === 0) break;
      for (const key of keys) {
        try {
          ctr("snapshots", "rm", key);
        } catch {
          // a parent of another: next round
        }
      }
    }
    for (const d of ctr("content", "ls", "-q").split("\n").filter(Boolean)) ctr("content", "rm", d);
    execFileSync("ctr", ["--address", address, "namespaces", "rm", namespace], { stdio: "ignore" });
  } finally {
    client.close();
    await registry.stop();
  }
});

test("pulls busybox through a docker.io mirror: image record, snapshot chain, GC labels; ctr can run it", async () => {
  const events: PullProgress[] = [];
  const { registry: reg } = countingRegistry(registry.url);
  const image = await pullImage(client, "busybox", { runner, registry: reg, onProgress: (e) => events.push(e) });
  assert.is(image.name, "docker.io/library/busybox:latest");
  assert.is(image.snapshotter, "overlayfs");
  assert.ok(image.diffIds.length >= 1);
  assert.match(image.chainId, /^sha256:[a-f0-9]{64}$/);
  assert.ok(image.config.Env?.some((e) => e.startsWith("PATH=")) || image.config.Cmd, "config parsed");

  assert.ok(ctr("images", "ls", "-q").split("\n").includes(image.name), "ctr lists the image");
  const snap = await client.snapshots.stat({ snapshotter: "overlayfs", key: image.chainId });
  assert.is(snap.info?.kind, "COMMITTED");
  const config = await client.content.info({ digest: image.configDigest });
  assert.is(config.info?.labels[`${GC.refSnapshot}overlayfs`], image.chainId);
  const manifest = await client.content.info({ digest: image.manifestDigest });
  assert.is(manifest.info?.labels[`${GC.refContent}config`], image.configDigest);
  assert.ok(manifest.info?.labels[`${GC.refContent}l.0`]);
  assert.ok(events.length > 0 && events.every((e) => e.type === "pull" && e.ref === image.name));
  const last = events[events.length - 1]!;
  assert.is(last.current, last.total);
  const leases = await client.leases.list({ filters: [] });
  assert.is(leases.leases.length, 0, "the pull lease is gone");

  const again = await getImage(client, "docker.io/library/busybox");
  assert.equal(again, image);

  const out = ctr("run", "--rm", image.name, `svcd-image-test-${process.pid}`, "/bin/echo", "hello");
  assert.is(out, "hello\n");
});

test("a second pull downloads nothing: a HEAD only", async () => {
  const { registry: reg, log } = countingRegistry(registry.url);
  const image = await pullImage(client, "busybox:latest", { runner, registry: reg });
  assert.is(image.name, "docker.io/library/busybox:latest");
  assert.equal(log.map((l) => l.split(" ")[0]), ["HEAD"], log.join("\n"));
});

test("a deleted image record is re-created without fetching blobs already stored", async () => {
  // Another name keeps the content referenced, so GC after the rm cannot race the pull.
  ctr("images", "tag", "docker.io/library/busybox:latest", "example.com/keep/busybox:latest");
  ctr("images", "rm", "--sync", "docker.io/library/busybox:latest");
  const { registry: reg, log } = countingRegistry(registry.url);
  const image = await pullImage(client, "busybox", { runner, registry: reg });
  assert.ok(ctr("images", "ls", "-q").includes(image.name));
  assert.is(log.filter((l) => l.includes("/blobs/") && !l.includes(image.configDigest)).length, 0, log.join("\n"));
});

/** Serves `img` as `<repo>:v1` on a fresh fake registry for the length of `fn`, given the registry and the ref. */
async function withServed(repo: string, img: TinyImage, fn: (fake: FakeRegistry, ref: string) => Promise<void>): Promise<void> {
  const fake = await new FakeRegistry().start();
  try {
    fake.put(repo, img.manifest, ["v1"], img.blobs.values());
    await fn(fake, `${fake.host}/${repo}:v1`);
  } finally {
    await fake.stop();
  }
}

test("a blob whose bytes do not match its digest: DIGEST_MISMATCH, no image record, no committed blob", async () => {
  const img = tinyImage([{ "a.txt": "one\n" }, { "b.txt": "two\n" }]);
  await withServed("bad/image", img, async (fake, ref) => {
    const victim = img.layers[1]!;
    const flipped = Buffer.from(victim.data);
    flipped[20] ^= 0xff;
    fake.corrupt.set(victim.digest, flipped);
    assert.is(await code(pullImage(client, ref, { runner, env: {} })), "ImageError:DIGEST_MISMATCH");
    assert.is(await code(client.images.get({ name: ref })), "NotFoundError:NOT_FOUND");
    assert.is(await code(client.content.info({ digest: victim.digest })), "NotFoundError:NOT_FOUND");
    const ingests = await client.content.listStatuses({ filters: [] });
    assert.is(ingests.statuses.filter((s) => s.ref.includes(victim.digest)).length, 0, "no ingest left behind");
    assert.is((await client.leases.list({ filters: [] })).leases.length, 0);
  });
});

/** Three layers of ~9 MiB gzip each (incompressible text): each takes many Content.Write WRITEs, several in flight. */
function bigImage(): TinyImage {
  return tinyImage([0, 1, 2].map((i) => ({ [`big-${i}.txt`]: randomBytes(7 * 1024 * 1024).toString("base64") })));
}

/** Runs containerd's garbage collection now (a lease deleted with sync waits for it). */
async function collectGarbage(): Promise<void> {
  const id = `svcd-test-gc-${process.pid}`;
  await client.leases.create({ id, labels: {} });
  await client.leases.delete({ id, sync: true });
}

/** What a failed or aborted pull of `img` must not leave: image record, blobs, ingests, leases, snapshots. */
async function assertNothingOf(img: TinyImage, ref: string): Promise<void> {
  assert.is(await code(client.images.get({ name: ref })), "NotFoundError:NOT_FOUND");
  assert.is((await client.leases.list({ filters: [] })).leases.length, 0, "no lease left");
  const ingests = await client.content.listStatuses({ filters: [] });
  assert.equal(ingests.statuses.map((s) => s.ref), [], "no ingest left");
  await collectGarbage();
  for (const layer of img.layers) assert.is(await code(client.content.info({ digest: layer.digest })), "NotFoundError:NOT_FOUND", `blob ${layer.digest} left`);
  for (const chainId of chainIds(img.diffIds)) {
    assert.is(await code(client.snapshots.stat({ snapshotter: "overlayfs", key: chainId })), "NotFoundError:NOT_FOUND", `snapshot ${chainId} left`);
  }
  const active: string[] = [];
  for await (const page of client.snapshots.list({ snapshotter: "overlayfs", filters: [] })) for (const i of page.info) if (i.kind === "ACTIVE") active.push(i.name);
  assert.equal(active, [], "no extract snapshot left");
}

test("a multi-layer image of several MiB per layer: every layer verified, committed whole, unpacked in a chain", async () => {
  const img = bigImage();
  await withServed("big/image", img, async (_fake, ref) => {
    const events: PullProgress[] = [];
    const image = await pullImage(client, ref, { runner, env: {}, onProgress: (e) => events.push(e) });
    const chain = chainIds(img.diffIds);
    assert.is(image.chainId, chain[2]);
    for (const [i, layer] of img.layers.entries()) {
      const { info } = await client.content.info({ digest: layer.digest });
      assert.is(Number(info?.size), layer.size);
      assert.is(info?.labels[GC.uncompressed], img.diffIds[i]);
      const snap = await client.snapshots.stat({ snapshotter: "overlayfs", key: chain[i]! });
      assert.is(snap.info?.kind, "COMMITTED");
      assert.is(snap.info?.parent ?? "", i === 0 ? "" : chain[i - 1]);
      const last = events.filter((e) => e.layer === layer.digest).at(-1);
      assert.is(last?.current, layer.size, "progress reaches each layer's size");
    }
    assert.equal((await client.content.listStatuses({ filters: [] })).statuses, []);
    assert.is((await client.leases.list({ filters: [] })).leases.length, 0);
    ctr("images", "rm", "--sync", image.name);
  });
});

test("a multi-MiB middle layer corrupted in its last bytes (many WRITEs already in flight): DIGEST_MISMATCH, nothing of the pull left", async () => {
  const img = bigImage();
  await withServed("bad/big", img, async (fake, ref) => {
    const victim = img.layers[1]!;
    const flipped = Buffer.from(victim.data);
    flipped[flipped.length - 100] ^= 0xff;
    fake.corrupt.set(victim.digest, flipped);
    assert.is(await code(pullImage(client, ref, { runner, env: {}, concurrency: 1 })), "ImageError:DIGEST_MISMATCH");
    await assertNothingOf(img, ref);
  });
});

test("a pull aborted while a multi-MiB layer streams in: CancelledError, nothing of the pull left", async () => {
  const img = bigImage();
  await withServed("abort/big", img, async (_fake, ref) => {
    const ac = new AbortController();
    const second = img.layers[1]!.digest;
    // Abort once the second layer's bytes arrive: the first is being written or unpacked, the second mid-write.
    const onProgress = (e: PullProgress) => {
      if (e.layer === second && e.current < e.total) ac.abort(new Error("test abort"));
    };
    assert.is(await code(pullImage(client, ref, { runner, env: {}, signal: ac.signal, onProgress })), "CancelledError:CANCELLED");
    await assertNothingOf(img, ref);
  });
});

test("unknown image → NOT_FOUND; malformed reference → InvalidArgumentError", async () => {
  assert.is(await code(pullImage(client, `${registry.host}/library/does-not-exist:latest`, { runner, env: {} })), "ImageError:NOT_FOUND");
  assert.is(await code(pullImage(client, "busybox:nope", { runner, env: {}, mirrors: { "docker.io": registry.url }, upstreamFallback: false })), "ImageError:NOT_FOUND");
  assert.is(await code(pullImage(client, "Busy Box", { runner, env: {} })), "InvalidArgumentError:INVALID_ARGUMENT");
  assert.is(await code(getImage(client, "never-pulled")), "ImageError:NOT_FOUND");
  try {
    await pullImage(client, "../x", { runner, env: {} });
    assert.unreachable();
  } catch (err) {
    assert.instance(err, InvalidArgumentError);
  }
  assert.not.instance(new ImageError("NOT_FOUND", "x", "y"), InvalidArgumentError);
});

test.run();
