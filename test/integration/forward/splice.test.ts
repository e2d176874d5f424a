// The splice helper (issue 13, src/forward/native/svcd-splice.c) against a real network namespace: it is what
// carries `up` listeners and TCP host services (one helper process per listener, none per connection), bytes arrive
// exact both ways with half-close, many connections share one helper, closing a forward leaves no helper behind,
// and with the helper turned off the agent's Node pipes still carry the same traffic.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { get } from "node:http";
import { connect } from "node:net";
import { ForwardAgent, type ForwardHandle } from "../../../src/forward/index.js";
import { createNetns, startServer, type NetnsServer } from "./fixtures/netns.js";
import { addBridge, inNetns } from "./fixtures/netns-run.js";
import { hostEcho, hostListener, patternSha } from "./fixtures/host-sockets.js";
import { engineRunner } from "../../rig/engine.js";

const runner = engineRunner();
const netns = createNetns();
addBridge(netns.path, "svcd0");
const ADDR = "10.87.255.7";
const MB = 1024 * 1024;
const servers: NetnsServer[] = [];
const cleanups: (() => unknown)[] = [];
let agent: ForwardAgent;

/** The splice helpers serving this test's netns (their --hub names it), as "<connect host> <port>" per process. */
function helpers(): string[] {
  const found: string[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
    } catch {
      continue; // gone
    }
    if (!argv[0]?.endsWith("/svcd-splice")) continue;
    const at = (flag: string) => argv[argv.indexOf(flag) + 1];
    if (at("--hub") === netns.path) found.push(`${at("--connect")} ${argv[argv.indexOf("--connect") + 2]}`);
  }
  return found.sort();
}

/** Sends `data` to the sha server through port, half-closes, and resolves its answer (read after our FIN). */
async function shaThrough(port: number, data: Buffer): Promise<string> {
  const socket = connect({ host: "127.0.0.1", port, allowHalfOpen: true });
  await once(socket, "connect");
  let reply = "";
  socket.on("data", (b: Buffer) => (reply += b.toString()));
  const ended = once(socket, "end");
  socket.end(data);
  await ended;
  socket.destroy();
  return reply;
}

/** GET /bytes?n=… through port; resolves the body's sha256 and length. */
function download(port: number, n: number): Promise<{ sha: string; length: number }> {
  return new Promise((resolve, reject) => {
    get({ host: "127.0.0.1", port, path: `/bytes?n=${n}`, agent: false }, (res) => {
      const hash = createHash("sha256");
      let length = 0;
      res.on("data", (b: Buffer) => {
        hash.update(b);
        length += b.length;
      });
      res.on("end", () => resolve({ sha: hash.digest("hex"), length }));
      res.on("error", reject);
    }).on("error", reject);
  });
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

test.before(async () => {
  servers.push(startServer(netns.path, "http", 8080), startServer(netns.path, "sha", 9000));
  await Promise.all(servers.map((s) => s.listening));
  agent = await ForwardAgent.start({ hubNetns: netns.path, runner });
});

test.after(async () => {
  for (const c of cleanups.reverse()) await c();
  await agent?.close();
  for (const s of servers) await s.stop();
  netns.remove();
});

test("up: one splice helper carries the listener; 8 MiB arrive exact both ways, half-close passed on; close leaves none", async () => {
  const { server, port } = await hostListener();
  const handle = await agent.forwardListener(server, { ip: "127.0.0.1", port: 9000 });
  assert.equal(helpers(), ["127.0.0.1 9000"]);
  const up = randomBytes(8 * MB);
  assert.is(await shaThrough(port, up), `${sha(up)} ${up.length}\n`);
  const { server: web, port: webPort } = await hostListener();
  const webHandle = await agent.forwardListener(web, { ip: "127.0.0.1", port: 8080 });
  assert.equal(await download(webPort, 8 * MB), { sha: patternSha(8 * MB), length: 8 * MB });
  assert.equal(helpers(), ["127.0.0.1 8080", "127.0.0.1 9000"]);
  await handle.close();
  await webHandle.close();
  assert.equal(helpers(), []);
});

test("up: 300 concurrent connections share one helper and arrive intact", async () => {
  const { server, port } = await hostListener();
  const handle = await agent.forwardListener(server, { ip: "127.0.0.1", port: 9000 });
  try {
    const bodies = Array.from({ length: 300 }, (_, i) => randomBytes(1000 + i * 331));
    const replies = await Promise.all(bodies.map((b) => shaThrough(port, b)));
    replies.forEach((r, i) => assert.is(r, `${sha(bodies[i]!)} ${bodies[i]!.length}\n`));
    assert.equal(helpers(), ["127.0.0.1 9000"]);
  } finally {
    await handle.close();
  }
  assert.equal(helpers(), []);
});

test("host service: spliced from the hub to the host, exact both ways; close leaves no helper", async () => {
  const { port: echoPort } = await hostEcho(cleanups);
  const handle: ForwardHandle = await agent.hostService({ address: ADDR, port: 3306, protocol: "TCP" }, { host: "127.0.0.1", port: echoPort });
  try {
    assert.equal(helpers(), [`127.0.0.1 ${echoPort}`]);
    const big = await inNetns<{ ok: number; failures: string[] }>(netns.path, ["tcp-echo", ADDR, 3306, 1, 8 * MB]);
    assert.equal(big, { ...big, ok: 1, failures: [] });
    const many = await inNetns<{ ok: number; failures: string[] }>(netns.path, ["tcp-echo", ADDR, 3306, 200, 20_000]);
    assert.equal(many, { ...many, ok: 200, failures: [] });
    assert.equal(helpers(), [`127.0.0.1 ${echoPort}`]);
  } finally {
    await handle.close();
  }
  assert.equal(helpers(), []);
});

test("stopping the agent stops every helper it set up", async () => {
  const local = await ForwardAgent.start({ hubNetns: netns.path, runner });
  const { server } = await hostListener();
  await local.forwardListener(server, { ip: "127.0.0.1", port: 8080 });
  assert.equal(helpers(), ["127.0.0.1 8080"]);
  await local.close();
  assert.equal(helpers(), []);
});

test("spliceHelper: false: no helper, and the agent's Node pipes carry the same traffic", async () => {
  const plain = await ForwardAgent.start({ hubNetns: netns.path, runner, spliceHelper: false });
  try {
    const { server, port } = await hostListener();
    await plain.forwardListener(server, { ip: "127.0.0.1", port: 9000 });
    const data = randomBytes(2 * MB);
    assert.is(await shaThrough(port, data), `${sha(data)} ${data.length}\n`);
    assert.equal(helpers(), []);
  } finally {
    await plain.close();
  }
});

test.run();
