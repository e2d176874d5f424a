// The shared mode of src/common/file-lock.ts that the hub's reference count rests on: many shared holders at once,
// an exclusive taker sees them, and a killed holder's share is dropped by the kernel.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostProcessRunner } from "../../../src/common/process-runner.js";
import { acquireFileLock, tryAcquireFileLock } from "../../../src/common/file-lock.js";

const runner = new HostProcessRunner();
const dir = mkdtempSync(join(tmpdir(), "svcd-shared-lock-"));
let n = 0;
const lockPath = () => join(dir, `l${n++}.lock`);

test.after(() => rmSync(dir, { recursive: true, force: true }));

test("shared holders coexist; exclusive is refused until the last one releases", async () => {
  const path = lockPath();
  const a = await acquireFileLock(path, { runner, shared: true });
  const b = await acquireFileLock(path, { runner, shared: true });
  assert.is(readFileSync(path, "utf8"), "", "shared holders write no note");
  assert.is(await tryAcquireFileLock(path, { runner }), undefined);
  a.release();
  assert.is(await tryAcquireFileLock(path, { runner }), undefined, "b still holds a share");
  b.release();
  const x = await tryAcquireFileLock(path, { runner });
  assert.ok(x, "free once both are gone");
  assert.is(await tryAcquireFileLock(path, { runner, shared: true }), undefined, "no share while exclusive");
  x!.release();
});

test("a shared holder waits for an exclusive one", async () => {
  const path = lockPath();
  const x = await acquireFileLock(path, { runner });
  const order: string[] = [];
  const waiting = acquireFileLock(path, { runner, shared: true }).then((l) => (order.push("shared"), l));
  await new Promise((r) => setImmediate(r));
  order.push("release");
  x.release();
  (await waiting).release();
  assert.equal(order, ["release", "shared"]);
});

test("the kernel drops the share of a killed process", async () => {
  const path = lockPath();
  // flock(1) holding a shared lock on the file while it runs `sleep` (which inherits it): a process group to kill.
  const holder = spawn("flock", ["--shared", path, "sh", "-c", "echo held; exec sleep 60"], {
    stdio: ["ignore", "pipe", "inherit"],
    detached: true,
  });
  const killGroup = () => {
    try {
      process.kill(-holder.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  };
  try {
    await once(holder.stdout!, "data");
    assert.is(await tryAcquireFileLock(path, { runner }), undefined);
    const exited = once(holder, "exit");
    killGroup();
    await exited;
  } finally {
    killGroup();
  }
  const x = await acquireFileLock(path, { runner, timeoutMs: 10_000 });
  x.release();
});

test.run();
