// runContainer against the real containerd: output, exit codes, stdin, users, large output, cleanup on every path.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { runContainer, startContainer, type StartContainerOptions } from "../../../src/runtime/index.js";
import { rejectsWithCode, setup, type Fixture } from "./fixture.js";

let fx: Fixture;
let n = 0;

test.before(async () => {
  fx = await setup("run");
});
test.after(async () => {
  await fx?.close();
});

function opts(extra: Partial<StartContainerOptions>): StartContainerOptions {
  return { id: `run-${process.pid}-${++n}`, image: fx.image, paths: fx.paths, runner: fx.runner, ...extra };
}

function assertNoLeaks(): void {
  assert.equal(fx.leaks(), { containers: [], tasks: [], activeSnapshots: [], fifoDirs: [] });
}

test("echo hello", async () => {
  const r = await runContainer(fx.client, opts({ args: ["echo", "hello"] }));
  assert.is(r.exitCode, 0);
  assert.is(r.stdout.toString(), "hello\n");
  assert.is(r.stderr.toString(), "");
  assertNoLeaks();
});

test("non-zero exit code is returned", async () => {
  const r = await runContainer(fx.client, opts({ args: ["sh", "-c", "exit 3"] }));
  assert.is(r.exitCode, 3);
  assertNoLeaks();
});

test("stderr is separate", async () => {
  const r = await runContainer(fx.client, opts({ args: ["sh", "-c", "echo out; echo err >&2; echo out2"] }));
  assert.is(r.stdout.toString(), "out\nout2\n");
  assert.is(r.stderr.toString(), "err\n");
  assertNoLeaks();
});

test("image config: default Cmd, env, cwd", async () => {
  const r = await runContainer(fx.client, opts({ args: ["sh", "-c", 'echo "$PATH|$FOO|$(pwd)"'], env: { FOO: "bar" }, cwd: "/tmp" }));
  assert.is(r.stdout.toString(), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|bar|/tmp\n");
  const viaCmd = await runContainer(fx.client, opts({ stdin: "echo from-default-cmd\n" }));
  assert.is(viaCmd.stdout.toString(), "from-default-cmd\n");
  assertNoLeaks();
});

test("10 MB of stdout arrives intact", async () => {
  const r = await runContainer(
    fx.client,
    opts({ args: ["sh", "-c", "head -c 10485760 /dev/urandom > /tmp/blob && sha256sum /tmp/blob >&2 && cat /tmp/blob"] }),
  );
  assert.is(r.exitCode, 0);
  assert.is(r.stdout.length, 10485760);
  assert.is(createHash("sha256").update(r.stdout).digest("hex"), r.stderr.toString().split(" ")[0]);
  assertNoLeaks();
});

test("stdin is passed through and closed", async () => {
  const input = Buffer.alloc(1024 * 1024, "abcdefgh");
  const r = await runContainer(fx.client, opts({ args: ["cat"], stdin: input }));
  assert.is(r.exitCode, 0);
  assert.ok(r.stdout.equals(input));
  const small = await runContainer(fx.client, opts({ args: ["cat"], stdin: "hi\n" }));
  assert.is(small.stdout.toString(), "hi\n");
  assertNoLeaks();
});

test("a process that does not read its stdin still exits", async () => {
  const r = await runContainer(fx.client, opts({ args: ["true"], stdin: Buffer.alloc(1024 * 1024) }));
  assert.is(r.exitCode, 0);
  assertNoLeaks();
});

test("named user nobody resolves from the image's /etc/passwd", async () => {
  const r = await runContainer(fx.client, opts({ args: ["sh", "-c", "id -u; id -g"], user: "nobody" }));
  assert.is(r.stdout.toString(), "65534\n65534\n");
  const numeric = await runContainer(fx.client, opts({ args: ["sh", "-c", "id -u; id -g"], user: "1000:1001" }));
  assert.is(numeric.stdout.toString(), "1000\n1001\n");
  await rejectsWithCode(runContainer(fx.client, opts({ args: ["true"], user: "ghost" })), "NOT_FOUND");
  assertNoLeaks();
});

test("output cap keeps the tail and streaming callbacks see everything", async () => {
  const seen: Buffer[] = [];
  const r = await runContainer(fx.client, opts({ args: ["sh", "-c", "seq 1 10000"], maxOutputBytes: 11, onStdout: (c) => seen.push(c) }));
  assert.is(r.stdout.toString(), "9999\n10000\n");
  assert.ok(r.truncated);
  assert.is(Buffer.concat(seen).toString().split("\n").length, 10001);
  assertNoLeaks();
});

test("AbortSignal mid-run: CancelledError and nothing left", async () => {
  const ac = new AbortController();
  const p = runContainer(fx.client, opts({ args: ["sh", "-c", "echo started; sleep 1000"], signal: ac.signal, onStdout: () => ac.abort() }));
  await rejectsWithCode(p, "CANCELLED");
  assertNoLeaks();
});

test("already-aborted signal creates nothing", async () => {
  await rejectsWithCode(runContainer(fx.client, opts({ args: ["true"], signal: AbortSignal.abort() })), "CANCELLED");
  assertNoLeaks();
});

test("a missing parent snapshot fails and leaves nothing", async () => {
  const image = { ...fx.image, chainId: "sha256:" + "1".repeat(64) };
  await rejectsWithCode(runContainer(fx.client, opts({ image, args: ["true"] })), "NOT_FOUND");
  assertNoLeaks();
});

test("a command that does not exist: 127 under the init, a create error without; nothing left", async () => {
  const r = await runContainer(fx.client, opts({ args: ["/no/such/binary"] }));
  assert.is(r.exitCode, 127);
  assert.match(r.stderr.toString(), "/no/such/binary");
  await rejectsWithCode(runContainer(fx.client, opts({ args: ["/no/such/binary"], init: false })), "INTERNAL");
  assertNoLeaks();
});

test("invalid options are rejected before anything is created", async () => {
  await rejectsWithCode(runContainer(fx.client, opts({ id: "bad id", args: ["true"] })), "INVALID_ARGUMENT");
  await rejectsWithCode(runContainer(fx.client, opts({ cwd: "relative", args: ["true"] })), "INVALID_ARGUMENT");
  assertNoLeaks();
});

test("startContainer + delete while running leaves nothing", async () => {
  const task = await startContainer(fx.client, opts({ args: ["sleep", "1000"] }));
  assert.ok(task.pid > 0);
  await task.delete();
  assertNoLeaks();
});

test.run();
