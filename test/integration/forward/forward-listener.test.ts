// forwardListener against a real network namespace (root): a listener on the host's 127.0.0.1 handed to the agent
// reaches a server inside the netns — many concurrent requests and 100 MB each way arrive intact, half-close is
// passed on, a refusing target resets the client, and closing the forward (or losing the agent) frees the port.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { get } from "node:http";
import { connect, createServer } from "node:net";
import { SvcdError } from "../../../src/common/errors.js";
import { ForwardAgent, type ForwardHandle } from "../../../src/forward/index.js";
import { createNetns, startServer, type NetnsServer } from "./fixtures/netns.js";
import { pattern } from "./fixtures/netns-server.mjs";
import { hostListener, patternSha } from "./fixtures/host-sockets.js";
import { engineRunner } from "../../rig/engine.js";

const runner = engineRunner();
const netns = createNetns();
const servers: NetnsServer[] = [];
const handles: ForwardHandle[] = [];
let agent: ForwardAgent;
const MB = 1024 * 1024;

async function forward(targetPort: number): Promise<number> {
  const { server, port } = await hostListener();
  handles.push(await agent.forwardListener(server, { ip: "127.0.0.1", port: targetPort }));
  return port;
}

function httpGet(port: number, path: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (b: Buffer) => chunks.push(b));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    }).on("error", reject);
  });
}

/** The error code a TCP client sees: "" when the connection was accepted and ended cleanly. */
function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "ERROR"));
    s.on("close", () => resolve(""));
    s.resume();
  });
}

test.before(async () => {
  const web = startServer(netns.path, "http", 8080);
  const sha = startServer(netns.path, "sha", 9000);
  servers.push(web, sha);
  await Promise.all([web.listening, sha.listening]);
  agent = await ForwardAgent.start({ hubNetns: netns.path, runner });
});

test.after(async () => {
  for (const h of handles) await h.close();
  await agent?.close();
  for (const s of servers) await s.stop();
  netns.remove();
});

test("a host listener forwards to the server inside the netns", async () => {
  const port = await forward(8080);
  const res = await httpGet(port, "/hello");
  assert.is(res.status, 200);
  assert.is(res.body.toString(), "Hello, world!");
});

test("100 concurrent requests arrive intact", async () => {
  const port = await forward(8080);
  const sizes = Array.from({ length: 100 }, (_, i) => 1000 + i * 997);
  const results = await Promise.all(sizes.map((n) => httpGet(port, `/bytes?n=${n}`)));
  results.forEach((res, i) => {
    assert.is(res.status, 200);
    assert.is(res.body.length, sizes[i]);
    assert.is(createHash("sha256").update(res.body).digest("hex"), patternSha(sizes[i]!));
  });
});

test("100 MB from the service arrive intact", async () => {
  const port = await forward(8080);
  const n = 100 * MB;
  const body = await new Promise<{ length: number; sha: string }>((resolve, reject) => {
    get({ host: "127.0.0.1", port, path: `/bytes?n=${n}`, agent: false }, (res) => {
      const hash = createHash("sha256");
      let length = 0;
      res.on("data", (b: Buffer) => {
        hash.update(b);
        length += b.length;
      });
      res.on("end", () => resolve({ length, sha: hash.digest("hex") }));
      res.on("error", reject);
    }).on("error", reject);
  });
  assert.is(body.length, n);
  assert.is(body.sha, patternSha(n));
});

test("100 MB to the service arrive intact, and the client's half-close reaches it", async () => {
  const port = await forward(9000);
  const n = 100 * MB;
  const socket = connect({ host: "127.0.0.1", port, allowHalfOpen: true });
  await once(socket, "connect");
  let reply = "";
  socket.on("data", (b: Buffer) => (reply += b.toString()));
  const ended = once(socket, "end");
  for (let i = 0, left = n; left > 0; i++) {
    const chunk = pattern(i);
    const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
    left -= part.length;
    if (!socket.write(part)) await once(socket, "drain");
  }
  socket.end(); // the server answers only after it saw our FIN
  await ended;
  socket.destroy();
  assert.is(reply, `${patternSha(n)} ${n}\n`);
});

test("a target that refuses: the client's connection is reset, not left hanging", async () => {
  const port = await forward(8089);
  assert.is(await connectOutcome(port), "ECONNRESET");
});

test("close() frees the port at once and ends the forward's connections", async () => {
  const { server, port } = await hostListener();
  const handle = await agent.forwardListener(server, { ip: "127.0.0.1", port: 9000 });
  const open = connect({ host: "127.0.0.1", port });
  await once(open, "connect");
  open.write("x");
  open.on("error", () => {}); // the forward resets its connections
  const closed = new Promise((resolve) => open.once("close", resolve));
  await handle.close();
  await handle.close();
  await handle.closed;
  await closed;
  assert.is(await connectOutcome(port), "ECONNREFUSED");
  const again = await hostListener(port); // the port can be bound again
  again.server.close();
});

test("forwardListener validates its arguments and closes the server it was given", async () => {
  const a = await hostListener();
  for (const target of [{ ip: "nope", port: 80 }, { ip: "127.0.0.1", port: 0 }]) {
    const { server } = await hostListener();
    try {
      await agent.forwardListener(server, target);
      assert.unreachable("accepted a bad target");
    } catch (err) {
      assert.ok(SvcdError.is(err) && err.code === "INVALID_ARGUMENT", String(err));
    }
    assert.is(server.listening, false);
  }
  a.server.close();
  try {
    await agent.forwardListener(createServer(), { ip: "127.0.0.1", port: 80 });
    assert.unreachable("accepted a server that does not listen");
  } catch (err) {
    assert.ok(SvcdError.is(err) && err.code === "INVALID_ARGUMENT", String(err));
  }
});

test("when the agent dies its forwards' ports are free, their handles close, and a new forward works", async () => {
  const { server, port } = await hostListener();
  const handle = await agent.forwardListener(server, { ip: "127.0.0.1", port: 8080 });
  assert.is((await httpGet(port, "/hello")).body.toString(), "Hello, world!");
  const old = agent.pid;
  process.kill(old, "SIGKILL");
  await handle.closed;
  // The old agent (and its listener) is gone; the next call starts a new one.
  const next = await forward(8080);
  assert.is.not(agent.pid, old);
  assert.is(await connectOutcome(port), "ECONNREFUSED");
  await handle.close();
  assert.is((await httpGet(next, "/hello")).body.toString(), "Hello, world!");
});

test.run();
