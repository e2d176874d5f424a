// UdpPeerMap on loopback: one upstream socket per peer, replies to the right peer, idle expiry, eviction of the least
// recently active peer at maxPeers, resolution failures reported and retried, close() frees everything.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import type { DatagramPeer } from "../../../src/forward/agent-protocol.js";
import { UdpPeerMap } from "../../../src/forward/udp-peer-map.js";

/** A UDP echo on 127.0.0.1 that records which source ports it saw. */
async function echo(): Promise<{ port: number; sources: Set<number>; socket: Socket }> {
  const socket = createSocket("udp4");
  const sources = new Set<number>();
  socket.on("message", (m, r) => {
    sources.add(r.port);
    socket.send(m, r.port, r.address);
  });
  socket.bind(0, "127.0.0.1");
  await once(socket, "listening");
  return { port: socket.address().port, sources, socket };
}

function collector() {
  const replies: { peer: DatagramPeer; text: string }[] = [];
  const waiters: (() => void)[] = [];
  return {
    replies,
    onReply: (peer: DatagramPeer, data: Buffer) => {
      replies.push({ peer, text: data.toString() });
      waiters.splice(0).forEach((w) => w());
    },
    async until(n: number) {
      while (replies.length < n) await new Promise<void>((r) => waiters.push(r));
    },
  };
}

const p = (port: number): DatagramPeer => ({ address: "10.87.0.9", port });

test("each peer gets its own upstream socket and its own replies; queued datagrams keep their order", async () => {
  const e = await echo();
  const c = collector();
  const map = new UdpPeerMap({ target: { ip: "127.0.0.1", port: e.port }, onReply: c.onReply });
  for (let i = 0; i < 3; i++) map.send(p(1), Buffer.from(`a${i}`));
  map.send(p(2), Buffer.from("b0"));
  await c.until(4);
  assert.equal(c.replies.filter((r) => r.peer.port === 1).map((r) => r.text), ["a0", "a1", "a2"]);
  assert.equal(c.replies.filter((r) => r.peer.port === 2).map((r) => r.text), ["b0"]);
  assert.is(e.sources.size, 2);
  assert.is(map.size, 2);
  map.close();
  assert.is(map.size, 0);
  e.socket.close();
});

test("a silent peer's socket closes after idleMs; its next datagram opens a new one", async () => {
  const e = await echo();
  const c = collector();
  const closed: string[] = [];
  let expired!: () => void;
  const gone = new Promise<void>((r) => (expired = r));
  const map = new UdpPeerMap({
    target: { ip: "127.0.0.1", port: e.port },
    onReply: c.onReply,
    idleMs: 100,
    onPeerClosed: (_peer, why) => (closed.push(why), expired()),
  });
  map.send(p(1), Buffer.from("x"));
  await c.until(1);
  await gone;
  assert.equal(closed, ["idle"]);
  assert.is(map.size, 0);
  map.send(p(1), Buffer.from("y"));
  await c.until(2);
  assert.is(e.sources.size, 2, "a new upstream socket");
  map.close();
  e.socket.close();
});

test("at maxPeers the least recently active peer is evicted", async () => {
  const e = await echo();
  const c = collector();
  const evicted: number[] = [];
  const map = new UdpPeerMap({ target: { ip: "127.0.0.1", port: e.port }, onReply: c.onReply, maxPeers: 2, onPeerClosed: (peer) => evicted.push(peer.port) });
  map.send(p(1), Buffer.from("1"));
  map.send(p(2), Buffer.from("2"));
  map.send(p(1), Buffer.from("1 again")); // peer 2 is now the oldest
  map.send(p(3), Buffer.from("3"));
  assert.equal(evicted, [2]);
  assert.is(map.size, 2);
  map.close();
  e.socket.close();
});

test("a target that fails to resolve is reported and the peer dropped; close() ignores later datagrams", async () => {
  const errors: string[] = [];
  let failed!: () => void;
  const done = new Promise<void>((r) => (failed = r));
  const map = new UdpPeerMap({
    target: () => Promise.reject(new Error("no such host")),
    onReply: () => assert.unreachable("no reply expected"),
    onError: (_peer, err) => (errors.push(err.message), failed()),
  });
  map.send(p(1), Buffer.from("x"));
  await done;
  assert.equal(errors, ["no such host"]);
  assert.is(map.size, 0);
  map.close();
  map.send(p(1), Buffer.from("x"));
  assert.is(map.size, 0);
});

test.run();
