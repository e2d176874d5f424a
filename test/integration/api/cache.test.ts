// Build cache and cache volumes against the real containerd: a cached chain is not run again in this process, in a
// new process, or after containerd's garbage collection ran; cache volumes honour their sharing modes.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { acquireFileLock } from "../../../src/common/file-lock.js";
import { PRIVATE_COPY_PREFIX } from "../../../src/engine/cache-volumes.js";
import { enginePaths, engineRunner } from "../../rig/engine.js";
import { type Client } from "../../../src/index.js";
import { connect } from "../../rig/connect.js";
import { appendChain, volumeLog } from "./fixtures/chains.js";

const run = promisify(execFile);
const test = suite<{ client: Client }>("build cache");
const unique = () => `t${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
const fixture = fileURLToPath(new URL("./fixtures/append-chain.ts", import.meta.url));

async function inNewProcess(volume: string, tag: string): Promise<string> {
  const { stdout } = await run(process.execPath, ["--import", "tsx", fixture, volume, tag], { env: process.env });
  return JSON.parse(stdout) as string;
}

test.before(async (ctx) => {
  ctx.client = await connect({ namespace: "svcd-test" });
});
test.after(async (ctx) => {
  await ctx.client.close();
});

test("a cached exec is not run again: same process, new process, after GC", async ({ client }) => {
  const volume = unique();
  const tag = unique();
  assert.is(await appendChain(client, volume, tag).stdout(), `ran ${tag}\n`);
  assert.is(await appendChain(client, volume, tag).stdout(), `ran ${tag}\n`);
  assert.equal(await volumeLog(client, volume), [`run ${tag}`]);

  assert.is(await inNewProcess(volume, tag), `ran ${tag}\n`);
  assert.equal(await volumeLog(client, volume), [`run ${tag}`]);

  // Deleting a container makes containerd 1.6 run its garbage collector; the cache must survive it.
  await client.container().from("busybox").withEnvVariable("NONCE", unique()).withExec(["true"]).sync();
  assert.is(await inNewProcess(volume, tag), `ran ${tag}\n`);
  assert.equal(await volumeLog(client, volume), [`run ${tag}`]);

  // Changing an earlier step runs it again.
  const other = unique();
  assert.is(await appendChain(client, volume, other).stdout(), `ran ${other}\n`);
  assert.equal(await volumeLog(client, volume), [`run ${tag}`, `run ${other}`]);
});

test("concurrent evaluations of one chain run it once", async ({ client }) => {
  const volume = unique();
  const tag = unique();
  const outs = await Promise.all([1, 2, 3].map(() => appendChain(client, volume, tag).stdout()));
  assert.equal(outs, [`ran ${tag}\n`, `ran ${tag}\n`, `ran ${tag}\n`]);
  assert.equal(await volumeLog(client, volume), [`run ${tag}`]);
});

test("a cache volume written by one container is read by the next", async ({ client }) => {
  const volume = client.cacheVolume(unique());
  const nonce = unique();
  await client.container().from("busybox").withEnvVariable("N", nonce).withMountedCache("/data", volume)
    .withExec(["sh", "-c", "echo persisted > /data/file"]).sync();
  const out = await client.container().from("busybox").withEnvVariable("N", nonce + "r").withMountedCache("/data", volume)
    .withExec(["cat", "/data/file"]).stdout();
  assert.is(out, "persisted\n");
});

test("LOCKED serialises two concurrent users", async ({ client }) => {
  const volume = client.cacheVolume(unique());
  const user = (name: string) =>
    client.container().from("busybox").withEnvVariable("WHO", name).withMountedCache("/c", volume, { sharing: "LOCKED" })
      .withExec(["sh", "-c", 'echo "start $WHO" >> /c/log; sleep 1; echo "end $WHO" >> /c/log']).sync();
  const a = unique();
  const b = unique();
  await Promise.all([user(a), user(b)]);
  const log = (await client.container().from("busybox").withEnvVariable("N", unique()).withMountedCache("/c", volume)
    .withExec(["cat", "/c/log"]).stdout()).trim().split("\n");
  assert.is(log.length, 4);
  // Whoever went first finished before the other started.
  const first = log[0]!.slice("start ".length);
  const second = first === a ? b : a;
  assert.equal(log, [`start ${first}`, `end ${first}`, `start ${second}`, `end ${second}`]);
});

test("PRIVATE gives a concurrent user its own copy", async ({ client }) => {
  const volume = client.cacheVolume(unique());
  const user = (name: string) =>
    client.container().from("busybox").withEnvVariable("WHO", name).withMountedCache("/c", volume, { sharing: "PRIVATE" })
      .withExec(["sh", "-c", 'touch "/c/mine-$WHO"; sleep 1; ls /c']).stdout();
  const a = unique();
  const b = unique();
  const [la, lb] = await Promise.all([user(a), user(b)]);
  const kept = (await client.container().from("busybox").withEnvVariable("N", unique()).withMountedCache("/c", volume)
    .withExec(["ls", "/c"]).stdout()).trim().split("\n").filter((f) => f.startsWith("mine-"));
  // Exactly one user wrote into the volume itself; the other's writes went to its own copy and are gone.
  assert.is(kept.length, 1, `volume holds ${kept.join(", ")}`);
  assert.ok(kept[0] === `mine-${a}` || kept[0] === `mine-${b}`);
  const owner = kept[0] === `mine-${a}` ? la : lb;
  assert.not.match(owner, kept[0] === `mine-${a}` ? `mine-${b}` : `mine-${a}`);
});

test("a PRIVATE copy is removed after its run, whoever in the container owns the files in it", async ({ client }) => {
  const name = unique();
  const volume = client.cacheVolume(name);
  const on = (sharing: "SHARED" | "PRIVATE") =>
    client.container().from("busybox").withEnvVariable("N", unique()).withMountedCache("/c", volume, { sharing });
  // A directory of the container's nobody: in the rootless pass a sub-uid's, which the user cannot empty on the host.
  await on("SHARED").withExec(["sh", "-c", "mkdir /c/d && chown 65534:65534 /c/d"]).sync();
  // This process holds the volume's PRIVATE lock, so the run below is given a copy.
  const root = join(enginePaths().cacheVolumesDir, name);
  const lock = await acquireFileLock(join(root, "private.lock"), { runner: engineRunner() });
  // Its own session: an exec's teardown (its volumes' release among it) ends after its output is back, and close()
  // waits for it.
  const other = await connect({ namespace: "svcd-test" });
  try {
    const out = await other.container().from("busybox").withEnvVariable("N", unique()).withMountedCache("/c", other.cacheVolume(name), { sharing: "PRIVATE" })
      .withUser("65534").withExec(["sh", "-c", "mkdir /c/d/x && touch /c/d/x/f && ls /c/d/x"]).stdout();
    assert.is(out, "f\n");
  } finally {
    await other.close();
    lock.release();
  }
  assert.equal((await readdir(root)).filter((f) => f.startsWith(PRIVATE_COPY_PREFIX)), [], "no copy left");
  assert.is(await on("SHARED").withExec(["ls", "/c/d"]).stdout(), "", "the volume itself is untouched");
  await engineRunner().run("rm", ["-rf", "--", root]);
});

test.run();
