// The agent's request handling, in-process on loopback (no netns, no child process): probes, forwards through a
// handed-over listener (half-close, refused target → reset, unlisten frees the port), malformed handles refused.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { once } from "node:events";
import { connect, createServer, type AddressInfo, type Server } from "node:net";
import { AgentDispatcher } from "../../../src/forward/agent-dispatcher.js";
import type { AgentResponse } from "../../../src/forward/agent-protocol.js";

function dispatcher() {
  const responses: AgentResponse[] = [];
  const waiters = new Map<number, (r: AgentResponse) => void>();
  const d = new AgentDispatcher((r) => {
    responses.push(r);
    waiters.get(r.id)?.(r);
  });
  const answer = (id: number) => {
    const found = responses.find((r) => r.id === id);
    return found ? Promise.resolve(found) : new Promise<AgentResponse>((resolve) => waiters.set(id, resolve));
  };
  return { d, answer };
}

async function listening(server: Server = createServer()): Promise<{ server: Server; port: number }> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, port: (server.address() as AddressInfo).port };
}

/** An upstream that answers "<bytes received>" after the client's FIN. */
async function countingUpstream() {
  const up = await listening(
    createServer({ allowHalfOpen: true }, (s) => {
      let n = 0;
      s.on("data", (b: Buffer) => (n += b.length));
      s.on("end", () => s.end(String(n)));
    }),
  );
  return up;
}

function outcome(port: number, send?: Buffer): Promise<{ reply: string; error: string }> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port, allowHalfOpen: true });
    let reply = "";
    s.on("data", (b: Buffer) => (reply += b));
    s.on("error", (err: NodeJS.ErrnoException) => resolve({ reply, error: err.code ?? "ERROR" }));
    s.on("close", () => resolve({ reply, error: "" }));
    if (send) s.end(send);
  });
}

test("probe answers true for a listening port and false for a closed one", async () => {
  const { d, answer } = dispatcher();
  const { server, port } = await listening();
  d.handle({ id: 1, op: "probe", ip: "127.0.0.1", port, timeoutMs: 1000 }, undefined);
  assert.equal(await answer(1), { type: "response", id: 1, ok: true, value: true });
  server.close();
  await once(server, "close");
  d.handle({ id: 2, op: "probe", ip: "127.0.0.1", port, timeoutMs: 1000 }, undefined);
  assert.equal(await answer(2), { type: "response", id: 2, ok: true, value: false });
});

test("a forward carries bytes both ways and passes the client's half-close on", async () => {
  const { d, answer } = dispatcher();
  const up = await countingUpstream();
  const front = await listening();
  d.handle({ id: 1, op: "listen", forwardId: "f1", target: { ip: "127.0.0.1", port: up.port } }, front.server);
  assert.equal(await answer(1), { type: "response", id: 1, ok: true });
  const payload = Buffer.alloc(3 * 1024 * 1024, 7);
  assert.equal(await outcome(front.port, payload), { reply: String(payload.length), error: "" });
  d.handle({ id: 2, op: "unlisten", forwardId: "f1" }, undefined);
  await answer(2);
  assert.equal(d.stats(), { forwards: 0, connections: 0 });
  assert.is((await outcome(front.port)).error, "ECONNREFUSED");
  up.server.close();
});

test("a refused target resets the client", async () => {
  const { d, answer } = dispatcher();
  const gone = await listening();
  gone.server.close();
  await once(gone.server, "close");
  const front = await listening();
  d.handle({ id: 1, op: "listen", forwardId: "f2", target: { ip: "127.0.0.1", port: gone.port } }, front.server);
  await answer(1);
  assert.is((await outcome(front.port)).error, "ECONNRESET");
  await d.closeAll();
});

test("listen without a server handle, or twice with one id, is an error response", async () => {
  const { d, answer } = dispatcher();
  d.handle({ id: 1, op: "listen", forwardId: "f3", target: { ip: "127.0.0.1", port: 1 } }, undefined);
  const r1 = await answer(1);
  assert.is(r1.ok === false && r1.error.code, "INTERNAL");
  const a = await listening();
  const b = await listening();
  d.handle({ id: 2, op: "listen", forwardId: "f3", target: { ip: "127.0.0.1", port: 1 } }, a.server);
  d.handle({ id: 3, op: "listen", forwardId: "f3", target: { ip: "127.0.0.1", port: 1 } }, b.server);
  const r3 = await answer(3);
  assert.is(r3.ok === false && r3.error.code, "ALREADY_EXISTS");
  assert.is(b.server.listening, false, "the refused listener is closed");
  await d.closeAll();
  assert.is(a.server.listening, false);
});

test.run();
