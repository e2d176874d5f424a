// How connect() picks its engine (DESIGN.md §2, §6): `engine: "daemon"` with nobody answering fails fast naming the
// socket and how to start a daemon; a stale socket file makes "auto" fall back to embedded; SVCD_SOCKET points
// "auto" at a daemon; a daemon-wide option sent to a daemon and a relative socket path are invalid arguments.
// Runs the same as root and as a user (the daemon is then rootless, the fallback a rootless embedded engine).
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, lstatSync } from "node:fs";
import { join } from "node:path";
import { connect, EngineUnavailableError, InvalidArgumentError, type Client, type ConnectOptions } from "../../../src/index.js";
import { daemonStatus } from "../../../src/daemon/index.js";
import { privateSocket, startTestDaemon, type TestDaemon } from "../../rig/daemon.js";

const NAMESPACE = "svcd-perm";
const test = suite<{ daemon: TestDaemon; dir: { socket: string; remove(): void } }>("connect engine choice");

/** A socket file nobody listens on: bound and listened on by a process that was then SIGKILLed (no unlink). */
async function staleSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, ["-e", `require("net").createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, "SIGKILL"))`], { stdio: "ignore" });
  const [, signal] = (await once(child, "exit")) as [number | null, string | null];
  assert.is(signal, "SIGKILL");
  assert.ok(lstatSync(path).isSocket(), `${path} is not a socket file`);
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    const got = await p;
    if (got && typeof (got as Client).close === "function") await (got as Client).close();
  } catch (err) {
    return err as Error;
  }
  throw new assert.Assertion({ message: "expected a rejection", operator: "rejects", generated: false, actual: "resolved", expects: "rejected" });
}

const echo = (c: Client, text: string) => c.container().from("busybox").withExec(["echo", text]).stdout();

test.before(async (ctx) => {
  // The daemon gets no mirrors of its own: the clients' SVCD_REGISTRY_MIRRORS (the rig's registry) travels with each
  // session, as an embedded engine would have used it — without that, every pull here would go to Docker Hub.
  const { SVCD_REGISTRY_MIRRORS: _mirrors, ...daemonEnv } = process.env;
  ctx.daemon = await startTestDaemon({ env: daemonEnv, args: ["--namespace", NAMESPACE] });
  ctx.dir = privateSocket("svcd-perm-choice-");
});
test.after(async (ctx) => {
  ctx.dir?.remove();
  if (ctx.daemon) assert.is(await ctx.daemon.stop(), 0, ctx.daemon.stderr());
});

test('engine "daemon" with no socket file: EngineUnavailableError naming the socket and how to start svcd, promptly', async (ctx) => {
  const socket = join(ctx.dir.socket, "..", "missing.sock");
  const started = Date.now();
  const err = await rejection(connect({ engine: "daemon", socket }));
  const elapsed = Date.now() - started;
  assert.instance(err, EngineUnavailableError, String(err));
  assert.is((err as EngineUnavailableError).code, "UNAVAILABLE");
  assert.match(err.message, socket);
  assert.match(err.message, `svcd --socket ${socket}`);
  assert.match(err.message, /systemctl (--user )?enable --now svcd\.socket/);
  assert.match(err.message, /engine: "embedded"/);
  assert.ok(elapsed < 3000, `took ${elapsed} ms`);
});

test('engine "daemon" with a stale socket file: EngineUnavailableError saying it is stale, promptly', async (ctx) => {
  const socket = join(ctx.dir.socket, "..", "stale-daemon.sock");
  await staleSocket(socket);
  const started = Date.now();
  const err = await rejection(connect({ engine: "daemon", socket }));
  const elapsed = Date.now() - started;
  assert.instance(err, EngineUnavailableError, String(err));
  assert.match(err.message, `${socket} is stale`);
  assert.ok(elapsed < 3000, `took ${elapsed} ms`);
});

test('engine "auto" with a stale socket file falls back to an embedded engine that works', async (ctx) => {
  const socket = join(ctx.dir.socket, "..", "stale-auto.sock");
  await staleSocket(socket);
  const before = await daemonStatus(ctx.daemon.socket);
  const c = await connect({ engine: "auto", socket, namespace: NAMESPACE, serviceGracePeriodMs: 0 });
  try {
    assert.is(await echo(c, "embedded after all"), "embedded after all\n");
    assert.is((await daemonStatus(ctx.daemon.socket)).clients, before.clients, "the rig's daemon was used");
  } finally {
    await c.close();
  }
  assert.ok(existsSync(socket), "a client removed the stale socket file (only a daemon may)");
});

test("SVCD_SOCKET points auto mode at the daemon", async (ctx) => {
  const saved = process.env.SVCD_SOCKET;
  process.env.SVCD_SOCKET = ctx.daemon.socket;
  try {
    const c = await connect({ serviceGracePeriodMs: 0 });
    try {
      assert.is((await daemonStatus(ctx.daemon.socket)).clients, 1, "the daemon does not see this client");
      assert.is(await echo(c, "through svcd"), "through svcd\n");
    } finally {
      await c.close();
    }
  } finally {
    if (saved === undefined) delete process.env.SVCD_SOCKET;
    else process.env.SVCD_SOCKET = saved;
  }
});

test("a client's SVCD_REGISTRY_MIRRORS travels with its session (the daemon has none of its own)", async (ctx) => {
  const saved = process.env.SVCD_REGISTRY_MIRRORS;
  const registry = process.env.SVCD_TEST_REGISTRY;
  assert.ok(saved && registry, "the rig sets SVCD_REGISTRY_MIRRORS and SVCD_TEST_REGISTRY");
  // A tag no registry holds, so no stored image can answer: the error says which registry was asked.
  const pull = async (ref: string) => {
    const c = await connect({ engine: "daemon", socket: ctx.daemon.socket, serviceGracePeriodMs: 0 });
    try {
      return await c.container().from(ref).withExec(["true"]).sync().then(() => "pulled", (err: Error) => err);
    } finally {
      await c.close();
    }
  };
  const missing = `busybox:svcd-no-such-tag-${process.pid}`;
  delete process.env.SVCD_REGISTRY_MIRRORS;
  try {
    const without = await pull(missing);
    assert.instance(without, Error);
    assert.match(String((without as Error).message), "registry-1.docker.io", "without mirrors the daemon asks Docker Hub");
  } finally {
    process.env.SVCD_REGISTRY_MIRRORS = saved;
  }
  const withEnv = await pull(missing);
  assert.instance(withEnv, Error);
  assert.match(String((withEnv as Error).message), registry!, "with the client's mirrors the daemon asks the rig's registry");
  assert.not.match(String((withEnv as Error).message), "registry-1.docker.io");
  assert.is(await pull("mariadb-client"), "pulled");
});

test("a daemon-wide option sent to an answering daemon: InvalidArgumentError saying to use embedded or configure the daemon", async (ctx) => {
  const wide: ConnectOptions[] = [{ containerd: "/run/containerd/containerd.sock" }, { namespace: NAMESPACE }, { rootless: process.getuid!() !== 0 }];
  for (const engine of ["auto", "daemon"] as const) {
    for (const option of wide) {
      const err = await rejection(connect({ engine, socket: ctx.daemon.socket, ...option }));
      const name = Object.keys(option)[0]!;
      assert.instance(err, InvalidArgumentError, `${engine} ${name}: ${String(err)}`);
      assert.is((err as InvalidArgumentError).code, "INVALID_ARGUMENT");
      assert.match(err.message, name);
      assert.match(err.message, /daemon-wide/);
      assert.match(err.message, /configure the daemon/);
      assert.match(err.message, /connect\(\{ engine: "embedded" \}\)/);
    }
  }
  assert.is((await daemonStatus(ctx.daemon.socket)).clients, 0, "a refused client left a session behind");
});

test("a relative socket (option or SVCD_SOCKET) is an InvalidArgumentError, whatever the engine", async () => {
  for (const engine of ["auto", "daemon"] as const) {
    const err = await rejection(connect({ engine, socket: "svcd.sock" }));
    assert.instance(err, InvalidArgumentError, String(err));
    assert.match(err.message, /socket "svcd\.sock" must be an absolute path/);
  }
  const saved = process.env.SVCD_SOCKET;
  process.env.SVCD_SOCKET = "run/svcd.sock";
  try {
    const err = await rejection(connect({ engine: "daemon" }));
    assert.instance(err, InvalidArgumentError, String(err));
    assert.match(err.message, /SVCD_SOCKET "run\/svcd\.sock" must be an absolute path/);
  } finally {
    if (saved === undefined) delete process.env.SVCD_SOCKET;
    else process.env.SVCD_SOCKET = saved;
  }
});

test.run();
