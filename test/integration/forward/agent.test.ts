// The forward agent against a real network namespace (root): probes run inside the netns, waitForPort's timing,
// timeouts and cancellation, crash recovery, and that no agent outlives close() or its parent.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { connect, createServer, type AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SvcdError } from "../../../src/common/errors.js";
import { ForwardAgent } from "../../../src/forward/index.js";
import { BLACKHOLE_IP, createNetns, processGone, startServer, type NetnsServer } from "./fixtures/netns.js";
import { engineRunner } from "../../rig/engine.js";

const here = dirname(fileURLToPath(import.meta.url));
const runner = engineRunner();
const netns = createNetns();
const servers: NetnsServer[] = [];
let agent: ForwardAgent;

/** Fails the test (instead of hanging it) when p does not settle within ms. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** Connects to the host's 127.0.0.1:port: "" when accepted, else the error code. */
function probeHost(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.on("connect", () => {
      s.destroy();
      resolve("");
    });
    s.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "ERROR"));
  });
}

async function rejects(p: Promise<unknown>, code: string): Promise<SvcdError> {
  try {
    await p;
  } catch (err) {
    assert.ok(SvcdError.is(err), `expected an SvcdError, got ${err}`);
    assert.is(err.code, code, err.message);
    return err;
  }
  throw new Error(`expected a rejection with ${code}`);
}

test.before(async () => {
  const web = startServer(netns.path, "http", 8080);
  servers.push(web);
  await web.listening;
  agent = await ForwardAgent.start({ hubNetns: netns.path, runner });
});

test.after(async () => {
  await agent?.close();
  for (const s of servers) await s.stop();
  netns.remove();
});

test("start validates the netns path", async () => {
  await rejects(ForwardAgent.start({ hubNetns: "relative/ns", runner }), "INVALID_ARGUMENT");
  await rejects(ForwardAgent.start({ hubNetns: "/run/netns/svcd-fwd-no-such-netns", runner }), "NOT_FOUND");
});

test("a file that is not a netns: start fails with nsenter's reason", async () => {
  const err = await rejects(ForwardAgent.start({ hubNetns: "/etc/hostname", runner }), "UNAVAILABLE");
  assert.match(err.message, /nsenter/);
});

test("probe: a listening port inside the netns → true", async () => {
  assert.is(await agent.probe("127.0.0.1", 8080), true);
});

test("probe: a closed port → false, quickly", async () => {
  const t0 = performance.now();
  assert.is(await agent.probe("127.0.0.1", 8081), false);
  assert.ok(performance.now() - t0 < 500);
});

test("probe runs inside the netns: a port listening on the host's loopback is not reachable", async () => {
  const host = createServer().listen(0, "127.0.0.1");
  await once(host, "listening");
  try {
    assert.is(await agent.probe("127.0.0.1", (host.address() as AddressInfo).port), false);
  } finally {
    host.close();
  }
});

test("probe: a connect that hangs → false after its timeout", async () => {
  const t0 = performance.now();
  assert.is(await agent.probe(BLACKHOLE_IP, 80, { timeoutMs: 300 }), false);
  const took = performance.now() - t0;
  assert.ok(took >= 290 && took < 1500, `took ${took} ms`);
});

test("probe validates ip, port and timeout before sending", async () => {
  for (const [ip, port] of [["999.1.1.1", 80], ["localhost", 80], ["127.0.0.1", 0], ["127.0.0.1", 65536], ["127.0.0.1", 1.5]] as const) {
    await rejects(agent.probe(ip, port), "INVALID_ARGUMENT");
  }
  await rejects(agent.probe("127.0.0.1", 80, { timeoutMs: -1 }), "INVALID_ARGUMENT");
});

test("waitForPort: resolves once a server that listens after 2 s is up, not before", async () => {
  const t0 = performance.now();
  const late = startServer(netns.path, "http", 8090, 2000);
  servers.push(late);
  await agent.waitForPort("127.0.0.1", 8090, { timeoutMs: 10_000 });
  const done = performance.now();
  const listenedAt = await late.listening;
  assert.ok(listenedAt <= done, "resolved before the server listened");
  assert.ok(done - t0 >= 2000, `resolved after ${done - t0} ms`);
  assert.ok(done - listenedAt < 1500, `resolved ${done - listenedAt} ms after the server listened (backoff is capped at 1 s)`);
  await late.stop();
});

test("waitForPort: a port that never opens → TimeoutError after timeoutMs", async () => {
  const t0 = performance.now();
  await rejects(agent.waitForPort("127.0.0.1", 8082, { timeoutMs: 800 }), "TIMEOUT");
  const took = performance.now() - t0;
  assert.ok(took >= 790 && took < 1500, `took ${took} ms`);
});

test("waitForPort: abort → CancelledError promptly, also while a probe hangs", async () => {
  for (const ip of ["127.0.0.1", BLACKHOLE_IP]) {
    const ac = new AbortController();
    const t0 = performance.now();
    setTimeout(() => ac.abort(), 300);
    await rejects(agent.waitForPort(ip, 8083, { timeoutMs: 10_000, signal: ac.signal }), "CANCELLED");
    assert.ok(performance.now() - t0 < 600, `${ip}: took ${performance.now() - t0} ms`);
  }
});

test("waitForPort: shouldStop ends the wait with CancelledError", async () => {
  let calls = 0;
  await rejects(agent.waitForPort("127.0.0.1", 8084, { timeoutMs: 10_000, shouldStop: () => ++calls > 3 }), "CANCELLED");
});

test("a crashed agent fails its pending call, and the next call starts a new one", async () => {
  const first = agent.pid;
  const pending = agent.probe(BLACKHOLE_IP, 80, { timeoutMs: 10_000 });
  process.kill(first, "SIGKILL");
  const err = await rejects(pending, "UNAVAILABLE");
  assert.match(err.message, /SIGKILL/);
  assert.is(await agent.probe("127.0.0.1", 8080), true);
  assert.is.not(agent.pid, first);
  assert.ok(processGone(first));
});

test("close() leaves no process, is idempotent, and later calls are cancelled", async () => {
  const other = await ForwardAgent.start({ hubNetns: netns.path, runner });
  const pid = other.pid;
  assert.ok(!processGone(pid));
  await Promise.all([other.close(), other.close()]);
  assert.ok(processGone(pid));
  await other.close();
  await rejects(other.probe("127.0.0.1", 8080), "CANCELLED");
});

test("the agent exits when its parent process is SIGKILLed", async () => {
  const parent = spawn(process.execPath, ["--import", "tsx", join(here, "fixtures/agent-parent.ts"), netns.path], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: parent.stdout! });
  const [line] = (await within(once(lines, "line"), 20_000, "agent start in the parent")) as [string];
  const [, pidText, portText] = /^agent (\d+) (\d+)$/.exec(line) ?? [];
  const pid = Number(pidText);
  assert.ok(pid > 0 && !processGone(pid), line);
  assert.is(await probeHost(Number(portText)), "", "the parent's forward is served");
  // The agent inherited the parent's stdout: the pipe ends only when both have exited.
  const ended = once(parent.stdout!, "end");
  parent.kill("SIGKILL");
  try {
    await within(ended, 5000, "agent exit after its parent's SIGKILL");
  } finally {
    // On failure, end what the test started so that the run reports instead of hanging on the shared pipe.
    if (!processGone(pid)) process.kill(pid, "SIGKILL");
    parent.stdout!.destroy();
  }
  assert.ok(processGone(pid), `agent ${pid} outlived its parent`);
  assert.is(await probeHost(Number(portText)), "ECONNREFUSED", "the forward's port is free");
});

test.run();
