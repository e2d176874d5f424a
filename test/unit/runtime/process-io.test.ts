// ProcessIO against real FIFOs with host processes as the writers/readers (no containerd needed).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { constants, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostProcessRunner } from "../../../src/common/process-runner.js";
import { ProcessIO } from "../../../src/runtime/process-io.js";

const runner = new HostProcessRunner();
const root = mkdtempSync(join(tmpdir(), "svcd-pio-"));
test.after(() => rmSync(root, { recursive: true, force: true }));

test("collects stdout and stderr separately, streams chunks, removes its dir", async () => {
  const dir = join(root, "a");
  const chunks: Buffer[] = [];
  const io = await ProcessIO.open(runner, dir, { onStdout: (c) => chunks.push(c) });
  assert.is(io.paths.stdin, "");
  const r = await runner.run("sh", ["-c", 'printf hello > "$1"; printf oops > "$2"', "sh", io.paths.stdout, io.paths.stderr]);
  assert.is(r.exitCode, 0);
  await io.done();
  assert.is(io.stdout.contents().toString(), "hello");
  assert.is(io.stderr.contents().toString(), "oops");
  assert.is(Buffer.concat(chunks).toString(), "hello");
  await io.close();
  assert.not.ok(existsSync(dir));
});

test("10 MB through a FIFO arrives intact", async () => {
  const dir = join(root, "b");
  const io = await ProcessIO.open(runner, dir);
  const child = runner.spawn("sh", ["-c", 'head -c 10485760 /dev/urandom | tee "$1" | sha256sum > "$2.sum"; : > "$2"', "sh", io.paths.stdout, join(root, "b-err")], { stdio: "ignore" });
  // stderr writer: open and close it so its stream ends too
  const errWriter = runner.spawn("sh", ["-c", ': > "$1"', "sh", io.paths.stderr], { stdio: "ignore" });
  await Promise.all([new Promise((r) => child.on("close", r)), new Promise((r) => errWriter.on("close", r))]);
  await io.done();
  const out = io.stdout.contents();
  assert.is(out.length, 10485760);
  const expected = readFileSync(join(root, "b-err.sum"), "utf8").split(" ")[0];
  assert.is(createHash("sha256").update(out).digest("hex"), expected);
  await io.close();
});

test("stdin is written then closed", async () => {
  const dir = join(root, "c");
  const io = await ProcessIO.open(runner, dir, { stdin: "some input\n" });
  assert.ok(io.paths.stdin.endsWith("/stdin"));
  // play the shim: hold the read end open before the write end is opened
  const reader = new Socket({ fd: openSync(io.paths.stdin, constants.O_RDONLY | constants.O_NONBLOCK), readable: true, writable: false });
  const got: Buffer[] = [];
  const eof = new Promise((r) => reader.on("close", r));
  reader.on("data", (c: Buffer) => got.push(c));
  let closed = false;
  await io.writeStdin(async () => {
    closed = true;
  });
  assert.ok(closed);
  await eof;
  assert.is(Buffer.concat(got).toString(), "some input\n");
  await io.close();
});

test("close ends streams no writer ever opened", async () => {
  const dir = join(root, "d");
  const io = await ProcessIO.open(runner, dir);
  await io.close();
  await io.done();
  assert.not.ok(existsSync(dir));
});

test("output cap keeps the tail", async () => {
  const dir = join(root, "e");
  const io = await ProcessIO.open(runner, dir, { maxOutputBytes: 4 });
  await runner.run("sh", ["-c", 'printf 0123456789 > "$1"; : > "$2"', "sh", io.paths.stdout, io.paths.stderr]);
  await io.done();
  assert.is(io.stdout.contents().toString(), "6789");
  assert.ok(io.stdout.truncated);
  await io.close();
});

test.run();
