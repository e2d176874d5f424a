// Shared sessions and client crashes through one daemon (DESIGN.md §2, issue 10): two processes passing one
// sessionId share one service instance (one start, counted on a cache volume) that stops only after both are gone;
// a client killed with SIGKILL loses its references (the service stops after the grace period while the session's
// other client lives on); stop() by one client ends the instance for the other.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { connect, type Client } from "../../../src/index.js";
import { OWNER } from "../../../src/common/labels.js";
import type { ContainerdClient } from "../../../src/containerd/index.js";
import { startTestDaemon, type TestDaemon } from "../../rig/daemon.js";
import { engineClient } from "../../rig/engine.js";

const NAMESPACE = "svcd-test";
const FIXTURE = fileURLToPath(new URL("./fixtures/session-client.ts", import.meta.url));
const test = suite<{ daemon: TestDaemon; observer: Client; cd: ContainerdClient }>("daemon sessions");
let seq = 0;
const unique = (what: string) => `${what}-${process.pid}-${++seq}-${Date.now().toString(36)}`;

test.before(async (ctx) => {
  ctx.daemon = await startTestDaemon({ env: process.env, args: ["--namespace", NAMESPACE] });
  ctx.observer = await connect({ engine: "daemon", socket: ctx.daemon.socket, sessionId: unique("observer") });
  ctx.cd = engineClient(NAMESPACE);
});

test.after(async (ctx) => {
  await ctx.observer?.close();
  ctx.cd?.close();
  assert.is(await ctx.daemon?.stop(), 0, "the daemon stops cleanly on SIGTERM");
});

interface ClientProcess {
  child: ChildProcessWithoutNullStreams;
  next(prefix: string): Promise<string>;
  send(line: string): void;
  exited: Promise<number | null>;
}

function startClient(daemon: TestDaemon, sessionId: string, graceMs: number, volume: string): ClientProcess {
  const child = spawn(process.execPath, ["--import", "tsx", FIXTURE, sessionId, String(graceMs), volume], {
    env: { ...process.env, SVCD_SOCKET: daemon.socket },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (c) => (stderr += c));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    async next(prefix) {
      const line = await Promise.race([lines.next(), exited.then(() => ({ done: true, value: undefined }) as const)]);
      if (line.done || !line.value.startsWith(prefix)) throw new Error(`client: expected ${prefix}, got ${line.value ?? "exit"}; stderr: ${stderr}`);
      return line.value.slice(prefix.length).trim();
    },
    send: (line) => child.stdin.write(line + "\n"),
    exited,
  };
}

/** The session's running service containers, as containerd lists them. */
async function running(cd: ContainerdClient, sessionId: string): Promise<number> {
  const { containers } = await cd.containers.list({ filters: [`labels."${OWNER.session}"==${sessionId}`] });
  return containers.filter((c) => c.labels?.[OWNER.kind] === "service").length;
}

/** Waits (on containerd's container events, no polling) until the session has `count` service containers. */
async function until(cd: ContainerdClient, sessionId: string, count: number, withinMs: number): Promise<number> {
  const started = Date.now();
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), withinMs);
  try {
    const events = cd.subscribe([`topic~="/containers/",namespace=="${NAMESPACE}"`], { signal: stop.signal })[Symbol.asyncIterator]();
    const first = events.next(); // subscribed before the first look: no change falls between the two
    if ((await running(cd, sessionId)) === count) return 0;
    let next = first;
    for (;;) {
      const event = await next.catch(() => ({ done: true }) as const);
      if ((await running(cd, sessionId)) === count) return Date.now() - started;
      if (event.done) throw new Error(`session ${sessionId} still has ${await running(cd, sessionId)} service(s) after ${withinMs} ms, expected ${count}`);
      next = events.next();
    }
  } finally {
    clearTimeout(timer);
    stop.abort();
  }
}

async function starts(observer: Client, volume: string): Promise<number> {
  const out = await observer.container().from("busybox").withMountedCache("/counts", observer.cacheVolume(volume)).withEnvVariable("NONCE", unique("n")).withExec(["sh", "-c", "cat /counts/starts 2>/dev/null | wc -l"]).stdout();
  return Number(out.trim());
}

test("two processes sharing a sessionId bind one service instance, which stops only after both are gone", async ({ daemon, observer, cd }) => {
  const session = unique("shared");
  const volume = unique("starts");
  const a = startClient(daemon, session, 0, volume);
  const hostA = await a.next("ready");
  const b = startClient(daemon, session, 0, volume);
  const hostB = await b.next("ready");
  assert.is(hostB, hostA, "the same definition in one session has one hostname");
  assert.is(await starts(observer, volume), 1, "one start for both processes");
  assert.is(await running(cd, session), 1);
  b.send("bind");
  assert.is(await b.next("bound"), "Hello, world!");
  a.send("close");
  await a.next("closed");
  assert.is(await a.exited, 0);
  assert.is(await running(cd, session), 1, "still pinned by the second process");
  b.send("bind");
  assert.is(await b.next("bound"), "Hello, world!", "the second process still reaches it");
  assert.is(await starts(observer, volume), 1, "not restarted");
  b.send("close");
  await b.next("closed");
  await until(cd, session, 0, 15_000);
});

test("a client killed with SIGKILL releases its pin: the service stops after its grace period, the session lives on", async ({ daemon, cd }) => {
  const session = unique("crash");
  const volume = unique("starts");
  const keeper = await connect({ engine: "daemon", socket: daemon.socket, sessionId: session });
  try {
    const victim = startClient(daemon, session, 1_500, volume);
    await victim.next("ready");
    assert.is(await running(cd, session), 1);
    const killedAt = Date.now();
    victim.child.kill("SIGKILL");
    await victim.exited;
    await until(cd, session, 0, 20_000);
    const stoppedAfter = Date.now() - killedAt;
    assert.ok(stoppedAfter >= 1_400, `the service outlived its client by the grace period (stopped after ${stoppedAfter} ms)`);
    // The session itself was the other client's: it still runs containers.
    assert.is(await keeper.container().from("busybox").withExec(["echo", "alive"]).stdout(), "alive\n");
  } finally {
    await keeper.close();
  }
});

test("stop() by one client of a shared session ends the instance for the other, whose next binding starts it again", async ({ daemon, observer, cd }) => {
  const session = unique("stop");
  const volume = unique("starts");
  const a = startClient(daemon, session, 0, volume);
  await a.next("ready");
  const other = await connect({ engine: "daemon", socket: daemon.socket, sessionId: session, serviceGracePeriodMs: 0 });
  try {
    const svc = other
      .container()
      .from("busybox")
      .withMountedCache("/counts", other.cacheVolume(volume))
      .withNewFile("/srv/index.html", "Hello, world!")
      .withExposedPort(8080)
      .asService({ args: ["sh", "-c", "echo start >> /counts/starts && exec httpd -f -p 8080 -h /srv"] });
    await svc.stop();
    await until(cd, session, 0, 15_000);
    a.send("bind");
    assert.is(await a.next("bound"), "Hello, world!");
    assert.is(await starts(observer, volume), 2, "a fresh instance after stop()");
  } finally {
    a.send("close");
    await a.exited;
    await other.close();
  }
});

test("the session ends with its last client: the daemon holds no session and no client afterwards", async ({ daemon }) => {
  const { daemonStatus } = await import("../../../src/daemon/index.js");
  const session = unique("last");
  const one = await connect({ engine: "daemon", socket: daemon.socket, sessionId: session });
  const two = await connect({ engine: "daemon", socket: daemon.socket, sessionId: session });
  let status = await daemonStatus(daemon.socket);
  assert.is(status.sessions, 2, "the observer's session and the shared one");
  assert.is(status.clients, 3);
  await one.close();
  status = await daemonStatus(daemon.socket);
  assert.is(status.sessions, 2);
  await two.close();
  status = await daemonStatus(daemon.socket);
  assert.is(status.sessions, 1, "only the observer's is left");
  assert.is(status.clients, 1);
});

test.run();
