// The flock-based lock: exclusive across calls and processes, released by the kernel when its holder dies, never
// inherited by processes started while it is held.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SvcdError } from "../../../src/common/errors.js";
import { HostProcessRunner } from "../../../src/common/process-runner.js";
import { acquireFileLock, tryAcquireFileLock, withFileLock } from "../../../src/common/file-lock.js";

const here = dirname(fileURLToPath(import.meta.url));
const runner = new HostProcessRunner();
const dir = mkdtempSync(join(tmpdir(), "svcd-lock-"));
let n = 0;
const lockPath = () => join(dir, `sub/l${n++}.lock`);

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return SvcdError.is(err) ? err.code : `not-svcd: ${String(err)}`;
  }
}

test.after(() => rmSync(dir, { recursive: true, force: true }));

test("a second holder waits until the first releases", async () => {
  const path = lockPath();
  const order: string[] = [];
  const a = await acquireFileLock(path, { runner });
  const b = acquireFileLock(path, { runner }).then((lock) => (order.push("b"), lock));
  assert.is(await tryAcquireFileLock(path, { runner }), undefined, "busy while a holds it");
  order.push("a-release");
  a.release();
  a.release(); // idempotent
  (await b).release();
  assert.equal(order, ["a-release", "b"]);
  const c = await tryAcquireFileLock(path, { runner });
  assert.ok(c, "free again");
  c!.release();
});

test("withFileLock serialises critical sections", async () => {
  const path = lockPath();
  let inside = 0;
  let maxInside = 0;
  const section = () =>
    withFileLock(path, { runner }, async () => {
      inside++;
      maxInside = Math.max(maxInside, inside);
      await new Promise((r) => setImmediate(r));
      inside--;
    });
  await Promise.all([section(), section(), section()]);
  assert.is(maxInside, 1);
});

test("the kernel releases the lock of a killed holder process", async () => {
  const path = lockPath();
  const holder = spawn(process.execPath, ["--import", "tsx", join(here, "fixtures/lock-holder.ts"), path], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const [line] = (await once(holder.stdout!, "data")) as [Buffer];
    assert.is(line.toString().trim(), "held");
    assert.is(await tryAcquireFileLock(path, { runner }), undefined);
    const waiting = acquireFileLock(path, { runner, timeoutMs: 20_000 });
    holder.kill("SIGKILL");
    (await waiting).release();
  } finally {
    holder.kill("SIGKILL");
  }
});

test("a process started while the lock is held does not inherit it", async () => {
  const path = lockPath();
  const lock = await acquireFileLock(path, { runner });
  const child = runner.spawn("sleep", ["30"], { detached: true });
  try {
    lock.release();
    const again = await tryAcquireFileLock(path, { runner });
    assert.ok(again, "sleep does not hold our lock");
    again!.release();
  } finally {
    child.kill("SIGKILL");
  }
});

test("waiting can be aborted or time out", async () => {
  const path = lockPath();
  const held = await acquireFileLock(path, { runner });
  try {
    const ac = new AbortController();
    const aborted = acquireFileLock(path, { runner, signal: ac.signal });
    ac.abort();
    assert.is(await codeOf(aborted), "CANCELLED");
    assert.is(await codeOf(acquireFileLock(path, { runner, timeoutMs: 1000 })), "TIMEOUT");
  } finally {
    held.release();
  }
});

test("a missing flock is an EngineUnavailableError naming util-linux", async () => {
  try {
    await acquireFileLock(lockPath(), { runner, env: { PATH: join(dir, "no-bin") } });
    assert.unreachable("should fail");
  } catch (err) {
    assert.ok(SvcdError.is(err));
    assert.is(err.code, "UNAVAILABLE");
    assert.match(err.message, /apt-get install util-linux/);
  }
});

test.run();
