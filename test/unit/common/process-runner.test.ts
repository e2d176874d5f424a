// A helper's output is bounded: HeadTailBuffer keeps head and tail of stderr; a helper flooding stdout is stopped
// and the run fails with a typed error (a scripted child stands in for the helper).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { EventEmitter } from "node:events";
import { PassThrough } from "node:stream";
import type { ChildProcess } from "node:child_process";
import { SvcdError } from "../../../src/common/errors.js";
import { HeadTailBuffer, runChild, DEFAULT_HELPER_OUTPUT_BYTES } from "../../../src/common/process-runner.js";

test("HeadTailBuffer keeps everything under the cap, head and tail beyond it", () => {
  const small = new HeadTailBuffer(100);
  small.push(Buffer.from("hello "));
  small.push(Buffer.from("world"));
  assert.is(small.text(), "hello world");
  assert.not.ok(small.truncated);

  const big = new HeadTailBuffer(20);
  for (let i = 0; i < 100; i++) big.push(Buffer.from(`${i % 10}`.repeat(7)));
  assert.ok(big.truncated);
  assert.is(big.total, 700);
  const [head, tail] = big.text().split(/\n\[… \d+ bytes dropped …\]\n/);
  assert.is(head, "0000000111");
  assert.is(tail, "8889999999");
  assert.match(big.text(), /\[… 680 bytes dropped …\]/);
  assert.is(DEFAULT_HELPER_OUTPUT_BYTES, 1024 * 1024);
});

/** A child that writes `out`/`err` and exits 0 unless it is killed first. */
function fakeChild(out: Buffer[], err: Buffer[]): ChildProcess & { killed: boolean } {
  const child = new EventEmitter() as ChildProcess & { killed: boolean };
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  Object.assign(child, { stdout, stderr, stdin: null, killed: false });
  child.kill = () => {
    child.killed = true;
    setImmediate(() => child.emit("close", null, "SIGKILL"));
    return true;
  };
  setImmediate(async () => {
    for (const b of err) stderr.write(b);
    for (const b of out) {
      if (child.killed) break;
      stdout.write(b);
      await new Promise((r) => setImmediate(r));
    }
    if (!child.killed) child.emit("close", 0, null);
  });
  return child;
}

test("a helper flooding stdout is killed and the run fails with an error naming it", async () => {
  const chunk = Buffer.alloc(64 * 1024, 0x78);
  const child = fakeChild(Array.from({ length: 100 }, () => chunk), [Buffer.from("oops\n")]);
  const err = await runChild(child, "cni-bridge", { maxOutputBytes: 256 * 1024 }).catch((e: unknown) => e);
  assert.ok(child.killed, "killed once over the cap");
  assert.ok(SvcdError.is(err), String(err));
  assert.is(err.code, "INTERNAL");
  assert.match(err.message, /cni-bridge wrote more than 262144 bytes to stdout/);
});

test("stderr beyond the cap keeps its head and tail; stdout under the cap is returned whole", async () => {
  const child = fakeChild([Buffer.from("{\"ok\":true}")], [Buffer.from("first line\n"), Buffer.alloc(50_000, 0x2e), Buffer.from("\nlast line\n")]);
  const r = await runChild(child, "nsenter", { maxOutputBytes: 1024 });
  assert.is(r.stdout, "{\"ok\":true}");
  assert.ok(r.stderr.startsWith("first line\n"));
  assert.ok(r.stderr.endsWith("\nlast line\n"));
  assert.ok(r.stderr.length < 1200, String(r.stderr.length));
});

test.run();
