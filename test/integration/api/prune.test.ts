// The build-cache GC against the real containerd, in a namespace of its own: a budget keeps the store under it and
// the newest steps still hit (an exec that printed a fresh random UUID prints the same one again), age
// and `all` limits, a step a live session used is never removed, pruned steps' stored outputs are gone, image
// snapshots are untouched, the automatic GC applies the policy from the environment, and options are validated.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Client } from "../../../src/index.js";
import { connect } from "../../rig/connect.js";
import { ContainerdClient } from "../../../src/containerd/index.js";
import { CACHE } from "../../../src/common/labels.js";
import { enginePaths } from "../../rig/engine.js";
import { sha256Digest, type ProgressEvent } from "../../../src/definition/index.js";
import { rejectsWith } from "../../helpers/errors.js";

const NS = "svcd-prune-test";
const MB = 1_000_000;
const test = suite<{ cd: ContainerdClient }>("build-cache prune");
const run = `${process.pid}-${Date.now().toString(36)}`;

/** A distinct chain writing `mb` MB; its stdout is a UUID drawn when it ran, so a hit is told from a run. */
const step = (client: Client, tag: string, mb = 1) =>
  client.container().from("busybox").withEnvVariable("STEP", `${run}-${tag}`)
    .withExec(["sh", "-c", `head -c ${mb * MB} /dev/zero > /blob; cat /proc/sys/kernel/random/uuid`]);

async function session<T>(fn: (client: Client) => Promise<T>, options: { onProgress?: (e: ProgressEvent) => void } = {}): Promise<T> {
  const client = await connect({ namespace: NS, ...options });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

async function cacheSnapshots(cd: ContainerdClient): Promise<string[]> {
  const names: string[] = [];
  for await (const page of cd.snapshots.list({ snapshotter: "overlayfs", filters: [`labels."${CACHE.digest}"`] })) names.push(...page.info.map((i) => i.name));
  return names;
}

async function storeBytes(cd: ContainerdClient): Promise<number> {
  let total = 0;
  for (const key of await cacheSnapshots(cd)) total += Number((await cd.snapshots.usage({ snapshotter: "overlayfs", key })).size);
  return total;
}

/** Committed snapshots that are not build-cache steps: the image's layers. */
async function imageSnapshots(cd: ContainerdClient): Promise<string[]> {
  const names: string[] = [];
  for await (const page of cd.snapshots.list({ snapshotter: "overlayfs" })) {
    for (const i of page.info) if (i.kind === "COMMITTED" && i.labels[CACHE.digest] === undefined) names.push(i.name);
  }
  return names.sort();
}

async function stored(cd: ContainerdClient, stdout: string): Promise<boolean> {
  try {
    await cd.content.info({ digest: sha256Digest(Buffer.from(stdout, "utf8")) });
    return true;
  } catch {
    return false;
  }
}

test.before(async (ctx) => {
  ctx.cd = new ContainerdClient({ address: process.env.CONTAINERD_ADDRESS!, namespace: NS });
  await session((c) => c.prune({ all: true }));
});
test.after(async ({ cd }) => {
  await session((c) => c.prune({ all: true })).catch(() => {});
  cd.close();
});

test("a 50 MiB budget after 100 MB of steps: the store ends under it and the newest steps still hit", async ({ cd }) => {
  const outs = await session(async (c) => {
    const out: string[] = [];
    for (let i = 0; i < 10; i++) out.push(await step(c, `budget${i}`, 10).stdout());
    return out;
  });
  assert.ok((await storeBytes(cd)) >= 100 * MB);
  for (const o of outs) assert.ok(await stored(cd, o), "outputs are stored");

  const budget = 50 * 2 ** 20;
  const result = await session((c) => c.prune({ keepStorageBytes: budget }));
  assert.is(result.removed, 5);
  assert.ok(result.freedBytes >= 50 * MB && result.freedBytes < 52 * MB, `freed ${result.freedBytes}`);
  assert.ok((await storeBytes(cd)) <= budget, "under budget");
  // The oldest five went with their stored outputs; the newest five still answer from the cache.
  for (let i = 0; i < 5; i++) assert.not.ok(await stored(cd, outs[i]!), `output of step ${i} is gone`);
  await session(async (c) => {
    for (let i = 5; i < 10; i++) assert.is(await step(c, `budget${i}`, 10).stdout(), outs[i], `step ${i} hits`);
    assert.is.not(await step(c, "budget0", 10).stdout(), outs[0], "step 0 runs again");
  });
});

test("olderThanMs removes only steps unused for longer", async ({ cd }) => {
  const old = await session((c) => step(c, "old").stdout());
  const mid = Date.now();
  const fresh = await session((c) => step(c, "fresh").stdout());
  const result = await session((c) => c.prune({ olderThanMs: Date.now() - mid }));
  assert.ok(result.removed >= 1);
  assert.not.ok(await stored(cd, old), "the old step's output is gone");
  await session(async (c) => {
    assert.is(await step(c, "fresh").stdout(), fresh, "the fresh step hits");
    assert.is.not(await step(c, "old").stdout(), old, "the old step runs again");
  });
});

test("all: every step goes but one a live session used; image snapshots stay and need no pull", async ({ cd }) => {
  const [kept, gone] = await session(async (c) => [await step(c, "kept").stdout(), await step(c, "gone").stdout()]);
  const images = await imageSnapshots(cd);
  assert.ok(images.length > 0);
  const live = await connect({ namespace: NS });
  try {
    assert.is(await step(live, "kept").stdout(), kept, "the live session hit it");
    const result = await session((c) => c.prune({ all: true }));
    assert.ok(result.removed >= 1);
    assert.not.ok(await stored(cd, gone));
    assert.ok(await stored(cd, kept), "the live session's step keeps its outputs");
    assert.is(await step(live, "kept").stdout(), kept, "and still hits");
    assert.equal(await imageSnapshots(cd), images, "image layers untouched");
    const events: ProgressEvent[] = [];
    assert.is.not(await session((c) => step(c, "gone").stdout(), { onProgress: (e) => events.push(e) }), gone, "the pruned step runs again");
    assert.equal(events.filter((e) => e.type === "pull"), [], "busybox was not pulled again");
  } finally {
    await live.close();
  }
  // Once that session closed, nothing holds the step any more.
  await session((c) => c.prune({ all: true }));
  assert.not.ok(await stored(cd, kept));
  assert.equal(await cacheSnapshots(cd), []);
});

test("the automatic GC applies SVCD_CACHE_KEEP_STORAGE at connect", async ({ cd }) => {
  const out = await session((c) => step(c, "auto", 2).stdout());
  assert.ok(await stored(cd, out));
  rmSync(enginePaths().cacheGcStamp, { force: true }); // no run within the last minute
  process.env.SVCD_CACHE_KEEP_STORAGE = "0";
  try {
    await session(async () => {}); // close waits for the run connect started
  } finally {
    delete process.env.SVCD_CACHE_KEEP_STORAGE;
  }
  assert.not.ok(await stored(cd, out), "the step and its outputs were collected");
  assert.equal(await cacheSnapshots(cd), []);
});

test("prune() also removes logs of services gone for longer than olderThanMs, and only those", async () => {
  const dir = enginePaths().serviceLogsDir;
  mkdirSync(dir, { recursive: true });
  // Two runs of services whose containers no longer exist: one stopped ten minutes ago (inside the retention that
  // connect applies by itself), one a moment ago.
  const old = join(dir, `svcd-prune-old-${run}.log`);
  const fresh = join(dir, `svcd-prune-fresh-${run}.log`);
  writeFileSync(old, "x".repeat(1000));
  writeFileSync(fresh, "y".repeat(1000));
  const tenMinutesAgo = new Date(Date.now() - 10 * 60_000);
  utimesSync(old, tenMinutesAgo, tenMinutesAgo);
  try {
    const result = await session((c) => c.prune({ olderThanMs: 5 * 60_000 }));
    assert.not.ok(existsSync(old), "the old log is gone");
    assert.ok(existsSync(fresh), "the recent log is kept");
    assert.ok(result.removed >= 1 && result.freedBytes >= 1000, JSON.stringify(result));
  } finally {
    rmSync(old, { force: true });
    rmSync(fresh, { force: true });
  }
});

test("prune options are validated", async () => {
  await session(async (c) => {
    for (const bad of [{ keepStorageBytes: -1 }, { keepStorageBytes: 1.5 }, { olderThanMs: Number.MAX_SAFE_INTEGER + 1 }, { olderThanMs: "1h" }, { all: "yes" }]) {
      await rejectsWith(c.prune(bad as never), "INVALID_ARGUMENT");
    }
  });
  process.env.SVCD_CACHE_MAX_AGE = "soon";
  try {
    await rejectsWith(connect({ namespace: NS }), "INVALID_ARGUMENT", /SVCD_CACHE_MAX_AGE/);
  } finally {
    delete process.env.SVCD_CACHE_MAX_AGE;
  }
});

test.run();
