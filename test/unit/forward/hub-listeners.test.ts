// The agent's host-service listeners and UDP forwards, in-process on loopback: host-listen emits each accepted
// connection unread and each datagram with its peer, replies reach the peer, a port in use is ALREADY_EXISTS,
// listen-datagrams relays a handed socket, unlisten frees the ports.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createSocket, type Socket as DgramSocket } from "node:dgram";
import { once } from "node:events";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { AgentDispatcher } from "../../../src/forward/agent-dispatcher.js";
import type { AgentEvent, AgentResponse } from "../../../src/forward/agent-protocol.js";

function harness() {
  const responses = new Map<number, AgentResponse>();
  const waiters = new Map<number, (r: AgentResponse) => void>();
  const events: { event: AgentEvent; handle?: Socket }[] = [];
  let onEvent: (() => void) | undefined;
  const d = new AgentDispatcher(
    (r) => {
      responses.set(r.id, r);
      waiters.get(r.id)?.(r);
    },
    () => {},
    (event, handle) => {
      events.push({ event, handle });
      onEvent?.();
    },
  );
  return {
    d,
    events,
    answer: (id: number) => responses.get(id) ? Promise.resolve(responses.get(id)!) : new Promise<AgentResponse>((r) => waiters.set(id, r)),
    nextEvent: () => new Promise<void>((r) => (onEvent = r)),
  };
}

async function freePort(): Promise<number> {
  const s = createServer().listen(0, "127.0.0.1");
  await once(s, "listening");
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

test("TCP host-listen passes each accepted connection on, unread; a second bind is ALREADY_EXISTS; unlisten frees it", async () => {
  const h = harness();
  const port = await freePort();
  h.d.handle({ id: 1, op: "host-listen", forwardId: "h1", address: "127.0.0.1", port, protocol: "TCP" }, undefined);
  assert.equal(await h.answer(1), { type: "response", id: 1, ok: true });
  const got = h.nextEvent();
  const client = connect({ host: "127.0.0.1", port });
  client.write("ping");
  await got;
  assert.equal(h.events[0]!.event, { type: "accepted", forwardId: "h1" });
  const socket = h.events[0]!.handle!;
  socket.resume();
  const [data] = (await once(socket, "data")) as [Buffer];
  assert.is(data.toString(), "ping", "nothing was read before the hand-over");
  socket.destroy();
  client.destroy();
  h.d.handle({ id: 2, op: "host-listen", forwardId: "h2", address: "127.0.0.1", port, protocol: "TCP" }, undefined);
  const dup = await h.answer(2);
  assert.is(dup.ok ? "ok" : dup.error.code, "ALREADY_EXISTS");
  h.d.handle({ id: 3, op: "unlisten", forwardId: "h1" }, undefined);
  await h.answer(3);
  assert.equal(h.d.stats(), { forwards: 0, connections: 0 });
  const again = createServer().listen(port, "127.0.0.1");
  await once(again, "listening");
  again.close();
});

test("UDP host-listen emits datagrams with their peer and sends replies back to that peer", async () => {
  const h = harness();
  const port = await freePort();
  h.d.handle({ id: 1, op: "host-listen", forwardId: "u1", address: "127.0.0.1", port, protocol: "UDP" }, undefined);
  assert.equal(await h.answer(1), { type: "response", id: 1, ok: true });
  const client = createSocket("udp4");
  client.bind(0, "127.0.0.1");
  await once(client, "listening");
  const got = h.nextEvent();
  client.send("q", port, "127.0.0.1");
  await got;
  const ev = h.events[0]!.event;
  assert.ok(ev.type === "datagram");
  if (ev.type !== "datagram") return;
  assert.equal(ev.peer, { address: "127.0.0.1", port: client.address().port });
  assert.is(Buffer.from(ev.data, "base64").toString(), "q");
  const reply = once(client, "message");
  h.d.handle({ op: "datagram", forwardId: "u1", peer: ev.peer, data: Buffer.from("a").toString("base64") }, undefined);
  const [m, rinfo] = (await reply) as [Buffer, { port: number }];
  assert.is(m.toString(), "a");
  assert.is(rinfo.port, port, "the reply comes from the address the peer talks to");
  client.close();
  await h.d.closeAll();
});

test("listen-datagrams relays a handed socket's datagrams to the target and replies to each peer", async () => {
  const h = harness();
  const echo = createSocket("udp4");
  echo.on("message", (m, r) => echo.send(Buffer.concat([Buffer.from("echo "), m]), r.port, r.address));
  echo.bind(0, "127.0.0.1");
  await once(echo, "listening");
  const handed: DgramSocket = createSocket("udp4");
  handed.bind(0, "127.0.0.1");
  await once(handed, "listening");
  const front = handed.address().port;
  h.d.handle({ id: 1, op: "listen-datagrams", forwardId: "d1", target: { ip: "127.0.0.1", port: echo.address().port }, idleMs: 1000 }, handed);
  assert.equal(await h.answer(1), { type: "response", id: 1, ok: true });
  const c = createSocket("udp4");
  const reply = once(c, "message");
  c.send("hi", front, "127.0.0.1");
  assert.is(((await reply) as [Buffer])[0].toString(), "echo hi");
  h.d.handle({ id: 2, op: "listen-datagrams", forwardId: "d2", target: { ip: "127.0.0.1", port: 1 }, idleMs: 1000 }, undefined);
  const r2 = await h.answer(2);
  assert.is(r2.ok ? "ok" : r2.error.code, "INTERNAL", "no socket came with it");
  c.close();
  echo.close();
  await h.d.closeAll();
  assert.throws(() => handed.address(), "closed with its forward");
});

test.run();
