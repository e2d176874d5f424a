// Host services (hub → host) and UDP forwards against a real network namespace (root). The test netns stands in for
// the hub: it gets a bridge named svcd0 (the default host-service device); clients run inside it with the
// netns-client.mjs fixture; the "host" targets are servers in this test process on 127.0.0.1.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createSocket, type Socket as DgramSocket } from "node:dgram";
import { once } from "node:events";
import { createServer, type AddressInfo } from "node:net";
import { SvcdError } from "../../../src/common/errors.js";
import { ForwardAgent, type ForwardHandle } from "../../../src/forward/index.js";
import { createNetns } from "./fixtures/netns.js";
import { addBridge, addressesOf, inNetns, udpEchoInNetns, udpSocketsTo } from "./fixtures/netns-run.js";
import { hostEcho } from "./fixtures/host-sockets.js";
import { engineRunner } from "../../rig/engine.js";

const runner = engineRunner();
const netns = createNetns();
addBridge(netns.path, "svcd0");
const ADDR = "10.87.255.1";
const MB = 1024 * 1024;
let agent: ForwardAgent;
const cleanups: (() => unknown)[] = [];

/** Fails the test (instead of hanging it) when p does not settle within ms. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** Polls cond every 50 ms (an external state with no event to await) until true or ms passed. */
async function eventually(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what} not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A host port nobody listens on. */
async function closedPort(): Promise<number> {
  const s = createServer().listen(0, "127.0.0.1");
  await once(s, "listening");
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** A UDP echo server on the host's 127.0.0.1. */
async function hostUdpEcho(): Promise<number> {
  const s = createSocket("udp4");
  s.on("message", (m, r) => s.send(m, r.port, r.address));
  s.bind(0, "127.0.0.1");
  await once(s, "listening");
  cleanups.push(() => s.close());
  return s.address().port;
}

function code(err: unknown): string {
  return SvcdError.is(err) ? err.code : String(err);
}

test.before(async () => {
  agent = await ForwardAgent.start({ hubNetns: netns.path, runner });
});

test.after(async () => {
  await agent?.close();
  for (const c of cleanups.reverse()) await c();
  netns.remove();
});

test("TCP: a container reaches the host's echo server at the host-service address", async () => {
  const { port } = await hostEcho(cleanups);
  const handle = await agent.hostService({ address: ADDR, port: 3306, protocol: "TCP" }, { host: "127.0.0.1", port });
  try {
    assert.equal(addressesOf(netns.path, "svcd0"), [ADDR]);
    const r = await inNetns<{ ok: number; failures: string[] }>(netns.path, ["tcp-echo", ADDR, 3306, 1, 5]);
    assert.equal(r, { ...r, ok: 1, failures: [] });
  } finally {
    await handle.close();
  }
});

test("TCP: 100 concurrent connections, and 10 MB each way with half-close, arrive intact", async () => {
  const { port } = await hostEcho(cleanups);
  const handle = await agent.hostService({ address: ADDR, port: 3306, protocol: "TCP" }, { host: "localhost", port });
  try {
    const many = await inNetns<{ ok: number; failures: string[] }>(netns.path, ["tcp-echo", ADDR, 3306, 100, 100_000]);
    assert.equal(many.failures, []);
    assert.is(many.ok, 100);
    const big = await inNetns<{ ok: number; failures: string[] }>(netns.path, ["tcp-echo", ADDR, 3306, 1, 10 * MB]);
    assert.equal(big.failures, []);
    assert.is(big.ok, 1);
  } finally {
    await handle.close();
  }
});

test("TCP: a refusing host target resets the container's connection at once and calls onError", async () => {
  const errors: Error[] = [];
  const port = await closedPort();
  let onReport!: () => void;
  const first = new Promise<void>((r) => (onReport = r));
  const handle = await agent.hostService(
    { address: ADDR, port: 3307, protocol: "TCP" },
    { host: "127.0.0.1", port },
    { onError: (err) => (errors.push(err), onReport()) },
  );
  try {
    const r = await inNetns<{ code: string; ms: number }>(netns.path, ["outcome", ADDR, 3307], 5000);
    assert.is(r.code, "ECONNRESET");
    assert.ok(r.ms < 2000, `took ${r.ms} ms`);
    await within(first, 2000, "onError");
    assert.is(code(errors[0]), "UNAVAILABLE");
  } finally {
    await handle.close();
  }
});

test("close() removes the address (last holder only) and frees the port; a second service on it works", async () => {
  const { port } = await hostEcho(cleanups);
  const a = await agent.hostService({ address: ADDR, port: 4000, protocol: "TCP" }, { host: "127.0.0.1", port });
  const b = await agent.hostService({ address: ADDR, port: 4001, protocol: "TCP" }, { host: "127.0.0.1", port });
  await a.close();
  await a.close();
  await a.closed;
  assert.equal(addressesOf(netns.path, "svcd0"), [ADDR], "still held by b");
  assert.is((await inNetns<{ code: string }>(netns.path, ["outcome", ADDR, 4000])).code, "ECONNREFUSED");
  assert.is((await inNetns<{ ok: number }>(netns.path, ["tcp-echo", ADDR, 4001, 1, 10])).ok, 1);
  await b.close();
  assert.equal(addressesOf(netns.path, "svcd0"), []);
  const again = await agent.hostService({ address: ADDR, port: 4000, protocol: "TCP" }, { host: "127.0.0.1", port });
  assert.is((await inNetns<{ ok: number }>(netns.path, ["tcp-echo", ADDR, 4000, 1, 10])).ok, 1);
  await again.close();
  assert.equal(addressesOf(netns.path, "svcd0"), []);
});

test("a port in use in the hub is ALREADY_EXISTS and leaves nothing behind", async () => {
  const { port } = await hostEcho(cleanups);
  const a = await agent.hostService({ address: ADDR, port: 4100, protocol: "TCP" }, { host: "127.0.0.1", port });
  try {
    await agent.hostService({ address: ADDR, port: 4100, protocol: "TCP" }, { host: "127.0.0.1", port });
    assert.unreachable("bound a port twice");
  } catch (err) {
    assert.is(code(err), "ALREADY_EXISTS");
  }
  await a.close();
  assert.equal(addressesOf(netns.path, "svcd0"), []);
});

test("hostService validates its arguments before touching anything", async () => {
  const bad: [unknown, unknown][] = [
    [{ address: "nope", port: 80, protocol: "TCP" }, { host: "localhost", port: 80 }],
    [{ address: ADDR, port: 0, protocol: "TCP" }, { host: "localhost", port: 80 }],
    [{ address: ADDR, port: 80, protocol: "SCTP" }, { host: "localhost", port: 80 }],
    [{ address: ADDR, port: 80, protocol: "TCP" }, { host: "local host", port: 80 }],
    [{ address: ADDR, port: 80, protocol: "TCP" }, { host: "-x", port: 80 }],
    // The forward layer checks the dial host as the definition does (assertDialHost): no zone index, no bad IPv4
    // passing as a name, DNS labels only.
    ...["fe80::1%eth0", "999.1.1.1", "1.2.3.4.5", `${"a".repeat(64)}.com`, "a-.b"].map((host): [unknown, unknown] => [{ address: ADDR, port: 80, protocol: "TCP" }, { host, port: 80 }]),
    [{ address: ADDR, port: 80, protocol: "TCP" }, { host: "localhost", port: 70000 }],
  ];
  for (const [listen, dial] of bad) {
    try {
      await agent.hostService(listen as never, dial as never);
      assert.unreachable(`accepted ${JSON.stringify([listen, dial])}`);
    } catch (err) {
      assert.is(code(err), "INVALID_ARGUMENT", String(err));
    }
  }
  try {
    await agent.hostService({ address: ADDR, port: 80, protocol: "TCP" }, { host: "localhost", port: 80 }, { signal: AbortSignal.abort() });
    assert.unreachable("ignored an aborted signal");
  } catch (err) {
    assert.is(code(err), "CANCELLED", String(err));
  }
  try {
    await ForwardAgent.start({ hubNetns: netns.path, runner, hostServiceDevice: "svcd0; reboot" });
    assert.unreachable("accepted a bad device name");
  } catch (err) {
    assert.is(code(err), "INVALID_ARGUMENT", String(err));
  }
  assert.equal(addressesOf(netns.path, "svcd0"), []);
});

test("UDP host service: a container reaches the host's UDP echo; idle peers' host sockets are freed", async () => {
  const port = await hostUdpEcho();
  const handle = await agent.hostService({ address: ADDR, port: 5353, protocol: "UDP" }, { host: "localhost", port }, { idleMs: 300 });
  try {
    const r = await inNetns<{ replies: string[][] }>(netns.path, ["udp", ADDR, 5353, 3, 4]);
    assert.equal(r.replies, [0, 1, 2].map((p) => [0, 1, 2, 3].map((i) => `p${p}-${i}`)));
    // One host socket per peer, connected to the echo server, each closed once idle.
    assert.ok((await udpSocketsTo("self", port)) >= 1);
    await eventually(async () => (await udpSocketsTo("self", port)) === 0, 3000, "idle host sockets closed");
  } finally {
    await handle.close();
  }
  assert.equal(addressesOf(netns.path, "svcd0"), []);
});

test("UDP up: a host socket handed to the agent reaches an echo in the netns; idle upstream sockets are freed", async () => {
  const echo = await udpEchoInNetns(netns.path, 5300);
  cleanups.push(() => echo.stop());
  const host = createSocket("udp4");
  host.bind(0, "127.0.0.1");
  await once(host, "listening");
  const hostPort = host.address().port;
  const handle = await agent.forwardDatagrams(host, { ip: "127.0.0.1", port: 5300 }, { idleMs: 300 });
  const clients: DgramSocket[] = [];
  try {
    for (let p = 0; p < 3; p++) {
      const c = createSocket("udp4");
      clients.push(c);
      for (let i = 0; i < 3; i++) {
        const reply = once(c, "message");
        c.send(`c${p}-${i}`, hostPort, "127.0.0.1");
        const [m] = (await within(reply, 2000, "UDP echo")) as [Buffer];
        assert.is(m.toString(), `c${p}-${i}`);
      }
    }
    assert.is(await udpSocketsTo(agent.pid, 5300), 3, "one upstream socket per peer");
    await eventually(async () => (await udpSocketsTo(agent.pid, 5300)) === 0, 3000, "idle upstream sockets closed");
    // A peer that comes back after expiry gets a new upstream socket.
    const reply = once(clients[0]!, "message");
    clients[0]!.send("again", hostPort, "127.0.0.1");
    assert.is(((await within(reply, 2000, "UDP echo after expiry")) as [Buffer])[0].toString(), "again");
  } finally {
    for (const c of clients) c.close();
    await handle.close();
  }
  // The host port is free once the handle is closed.
  const rebind = createSocket("udp4");
  rebind.bind(hostPort, "127.0.0.1");
  await once(rebind, "listening");
  rebind.close();
});

test("forwardDatagrams refuses an unbound socket and a bad target, closing the socket", async () => {
  try {
    await agent.forwardDatagrams(createSocket("udp4"), { ip: "127.0.0.1", port: 53 });
    assert.unreachable("accepted an unbound socket");
  } catch (err) {
    assert.is(code(err), "INVALID_ARGUMENT");
  }
  const s = createSocket("udp4");
  s.bind(0, "127.0.0.1");
  await once(s, "listening");
  try {
    await agent.forwardDatagrams(s, { ip: "localhost", port: 53 });
    assert.unreachable("accepted a host name target");
  } catch (err) {
    assert.is(code(err), "INVALID_ARGUMENT");
  }
  assert.throws(() => s.address()); // closed
});

test("when the agent dies, its host services end and their addresses are removed", async () => {
  const { port } = await hostEcho(cleanups);
  const handle = await agent.hostService({ address: ADDR, port: 4200, protocol: "TCP" }, { host: "127.0.0.1", port });
  assert.equal(addressesOf(netns.path, "svcd0"), [ADDR]);
  process.kill(agent.pid, "SIGKILL");
  await within(handle.closed, 5000, "handle closed after the agent died");
  await eventually(async () => addressesOf(netns.path, "svcd0").length === 0, 3000, "address removed");
  await handle.close();
  // The next call starts a new agent.
  const next = await agent.hostService({ address: ADDR, port: 4200, protocol: "TCP" }, { host: "127.0.0.1", port });
  assert.is((await inNetns<{ ok: number }>(netns.path, ["tcp-echo", ADDR, 4200, 1, 10])).ok, 1);
  await next.close();
});

test.run();
