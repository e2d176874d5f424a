// `up`: host ports forwarded to a service through the agent in the hub (issue 5).
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { createServer, connect as tcpConnect } from "node:net";
import { request } from "node:http";
import { type Client } from "../../../src/index.js";
import { connect, testEngine } from "../../rig/connect.js";
import type { EmbeddedEngine } from "../../../src/engine/index.js";
import { rejectsWith } from "../../helpers/errors.js";

const test = suite<{ client: Client }>("up");
const unique = () => `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** GET http://127.0.0.1:<port><path> → body bytes. */
function get(port: number, path = "/"): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () => (res.statusCode === 200 ? resolve(Buffer.concat(parts)) : reject(new Error(`HTTP ${res.statusCode}`))));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

const web = (client: Client, port = 8080) =>
  client.container().from("python").withWorkdir("/srv").withNewFile("index.html", "Hello, world!").withExposedPort(port)
    .asService({ args: ["python", "-m", "http.server", String(port)] });

test.before(async (ctx) => {
  ctx.client = await connect({ namespace: "svcd-test", serviceGracePeriodMs: 200 });
});
test.after(async (ctx) => {
  await ctx.client.close();
});

test("up maps a chosen host port to the service's port", async ({ client }) => {
  const frontend = await freePort();
  await using up = await web(client).up({ ports: [{ frontend, backend: 8080 }] });
  assert.equal(up.ports, [{ frontend, backend: 8080, protocol: "TCP" }]);
  assert.is((await get(frontend)).toString(), "Hello, world!");
});

test("random: true binds a free port and reports it", async ({ client }) => {
  const up = await web(client).up({ random: true });
  try {
    assert.is(up.ports.length, 1);
    const [p] = up.ports;
    assert.ok(p!.frontend > 0 && p!.frontend !== 8080);
    assert.is((await get(p!.frontend)).toString(), "Hello, world!");
  } finally {
    await up.close();
  }
});

test("the default maps every exposed port natively", async ({ client }) => {
  const port = await freePort();
  const up = await web(client, port).up();
  try {
    assert.equal(up.ports, [{ frontend: port, backend: port, protocol: "TCP" }]);
    assert.is((await get(port)).toString(), "Hello, world!");
  } finally {
    await up.close();
  }
  // Closing frees the port at once.
  assert.ok(await canListen(port));
});

test("100 concurrent requests and a 100 MB transfer arrive intact", async ({ client }) => {
  const svc = client.container().from("busybox").withEnvVariable("PAYLOAD", "100MB-v1")
    .withExec(["sh", "-c", "mkdir -p /www && head -c 104857600 /dev/urandom > /www/big && echo small > /www/index.html && sha256sum /www/big | cut -d' ' -f1"])
    .withExposedPort(8080).withEntrypoint(["httpd", "-f", "-p", "8080", "-h", "/www"]);
  const expected = (await svc.stdout()).trim();
  const up = await svc.asService().up({ random: true });
  try {
    const port = up.ports[0]!.frontend;
    const bodies = await Promise.all(Array.from({ length: 100 }, () => get(port, "/index.html")));
    assert.ok(bodies.every((b) => b.toString() === "small\n"));
    const big = await get(port, "/big");
    assert.is(big.length, 104857600);
    assert.is(createHash("sha256").update(big).digest("hex"), expected);
  } finally {
    await up.close();
  }
});

// Echoes each connection until the client's FIN, then closes: a client that half-closes still gets every byte back.
const ECHO_PY = [
  "import socket, threading",
  "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 7000)); s.listen(128)",
  "def serve(c):",
  "    while True:",
  "        d = c.recv(65536)",
  "        if not d: break",
  "        c.sendall(d)",
  "    c.close()",
  "while True:",
  "    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()",
].join("\n");

/** Writes `data` through port, half-closes, and resolves everything read back until the far end closed. */
function echoThrough(port: number, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host: "127.0.0.1", port, allowHalfOpen: true });
    const parts: Buffer[] = [];
    s.on("data", (b: Buffer) => parts.push(b));
    s.on("error", reject);
    s.on("end", () => {
      s.destroy();
      resolve(Buffer.concat(parts));
    });
    s.end(data);
  });
}

test("4 MiB through up come back exact after the client's half-close; 50 connections at once too (issue 13)", async ({ client }) => {
  const svc = client.container().from("python").withNewFile("/srv/echo.py", ECHO_PY).withExposedPort(7000)
    .asService({ args: ["python", "/srv/echo.py"] });
  const up = await svc.up({ random: true });
  try {
    const port = up.ports[0]!.frontend;
    const big = Buffer.from(Array.from({ length: 4 << 20 }, (_, i) => (i * 7 + (i >> 12)) & 0xff));
    assert.ok((await echoThrough(port, big)).equals(big));
    const small = Array.from({ length: 50 }, (_, i) => Buffer.alloc(20_000 + i, i));
    const back = await Promise.all(small.map((b) => echoThrough(port, b)));
    back.forEach((b, i) => assert.ok(b.equals(small[i]!), `connection ${i}`));
  } finally {
    await up.close();
  }
});

test("a frontend port in use is a typed error and nothing is left listening", async ({ client }) => {
  const taken = createServer();
  const port = await new Promise<number>((r) => taken.listen(0, "127.0.0.1", () => r((taken.address() as { port: number }).port)));
  const second = await freePort();
  try {
    await rejectsWith(web(client).up({ ports: [{ frontend: second, backend: 8080 }, { frontend: port, backend: 8080 }] }), "INVALID_ARGUMENT", new RegExp(`port ${port}`));
    assert.ok(await canListen(second), "the first listener of the failed up was closed");
  } finally {
    taken.close();
  }
  await rejectsWith(web(client).up({ bind: "not-an-ip" }), "INVALID_ARGUMENT");
  await rejectsWith(web(client).up({ ports: [{ backend: 70000 }] }), "INVALID_ARGUMENT");
});

test("aborting the signal closes the forward", async ({ client }) => {
  const ac = new AbortController();
  const up = await web(client).up({ random: true, signal: ac.signal });
  const port = up.ports[0]!.frontend;
  assert.is((await get(port)).toString(), "Hello, world!");
  ac.abort();
  await up.close();
  await new Promise<void>((resolve, reject) => {
    const s = tcpConnect(port, "127.0.0.1");
    s.once("connect", () => reject(new Error("still listening")));
    s.once("error", () => resolve());
  });
});

test("closed up sessions are let go: many up/close cycles leave none held by the engine", async ({ client }) => {
  if (testEngine === "daemon") {
    // Through the daemon the count is the daemon's: each closed up's host port is free again at once instead.
    const svc = web(client);
    await svc.start();
    try {
      for (let i = 0; i < 10; i++) {
        const handle = await svc.up({ random: true });
        const port = handle.ports[0]!.frontend;
        await handle.close();
        const probe = createServer();
        await new Promise<void>((res, rej) => probe.once("error", rej).listen(port, "127.0.0.1", () => res()));
        await new Promise<void>((res) => probe.close(() => res()));
      }
    } finally {
      await svc.stop();
    }
    return;
  }
  const engine = (await client.engine()) as EmbeddedEngine;
  const svc = web(client);
  await svc.start(); // running across the cycles, so each up only forwards
  try {
    assert.is(engine.openUpSessions, 0, "every earlier test closed its up");
    for (let i = 0; i < 20; i++) await (await svc.up({ random: true })).close();
    assert.is(engine.openUpSessions, 0);
    const open = await svc.up({ random: true });
    assert.is(engine.openUpSessions, 1);
    await open.close();
    assert.is(engine.openUpSessions, 0);
  } finally {
    await svc.stop();
  }
});

test.run();
