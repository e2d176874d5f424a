// Host services: a container reaches a server on the caller's host through a service with its own hostname.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createServer, type Server } from "node:net";
import { createServer as createHttpServer } from "node:http";
import { type Client } from "../../../src/index.js";
import { connect } from "../../rig/connect.js";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { enginePaths } from "../../rig/engine.js";

const test = suite<{ client: Client; echo: Server; echoPort: number }>("host services");
const unique = () => `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
}

test.before(async (ctx) => {
  ctx.client = await connect({ namespace: "svcd-test", serviceGracePeriodMs: 200 });
  ctx.echo = createServer((s) => s.pipe(s));
  ctx.echoPort = await listen(ctx.echo);
});
test.after(async (ctx) => {
  await ctx.client.close();
  ctx.echo.close();
});

test("a container reaches a host TCP echo server as db:<port>", async ({ client, echoPort }) => {
  const db = client.host().service([{ backend: echoPort }]);
  const out = await client.container().from("busybox").withEnvVariable("N", unique()).withServiceBinding("db", db)
    .withExec(["sh", "-c", `echo ping | nc -w 2 db ${echoPort}`]).stdout();
  assert.is(out, "ping\n");
  assert.match(await db.hostname(), /^[0-9a-v]{13}$/);
});

test("client.service(tcp://localhost:<port>) does the same; frontend can differ from backend", async ({ client }) => {
  const http = createHttpServer((_q, s) => s.end("from the host"));
  const port = await listen(http as unknown as Server);
  try {
    const viaUri = await client.container().from("busybox").withEnvVariable("N", unique())
      .withServiceBinding("web", client.service(`tcp://localhost:${port}`))
      .withExec(["wget", "-qO-", `http://web:${port}/`]).stdout();
    assert.is(viaUri, "from the host");
    const remapped = await client.container().from("busybox").withEnvVariable("N", unique())
      .withServiceBinding("web", client.host().service([{ frontend: 80, backend: port }], { host: "127.0.0.1" }))
      .withExec(["wget", "-qO-", "http://web/"]).stdout();
    assert.is(remapped, "from the host");
  } finally {
    http.close();
  }
});

test("a host target that refuses resets the container's connection instead of hanging", async ({ client }) => {
  const closed = createServer();
  const port = await listen(closed);
  await new Promise((r) => closed.close(r)); // nothing listens there now
  const started = Date.now();
  const out = await client.container().from("busybox").withEnvVariable("N", unique())
    .withServiceBinding("gone", client.host().service([{ backend: port }]))
    .withExec(["sh", "-c", `echo x | nc -w 10 gone ${port}; echo "exit $?"`]).stdout();
  assert.match(out, /exit/);
  assert.ok(Date.now() - started < 8000, `took ${Date.now() - started} ms`);
  // The host service's log says why.
  const dir = enginePaths().serviceLogsDir;
  const logs = (await readdir(dir)).filter((f) => f.includes("-host-"));
  const texts = await Promise.all(logs.map((f) => readFile(join(dir, f), "utf8")));
  assert.ok(texts.some((t) => t.includes(`localhost:${port}`) && /ECONNREFUSED/.test(t)), "a host-service log names the refused target");
});

test("another session reaches neither the name nor the address of a host service", async ({ client, echoPort }) => {
  const name = `hostsvc${Date.now().toString(36)}`;
  const svc = client.host().service([{ backend: echoPort }]).withHostname(name);
  await svc.start();
  const other = await connect({ namespace: "svcd-test", sessionId: `other-${unique()}` });
  try {
    const here = await client.container().from("busybox").withEnvVariable("N", unique())
      .withExec(["sh", "-c", `echo ping | nc -w 2 ${name} ${echoPort}; grep -w ${name} /etc/hosts`]).stdout();
    const [reply, hostsLine] = here.split("\n");
    assert.is(reply, "ping");
    const ip = hostsLine!.split(/\s+/)[0]!;
    const there = await other.container().from("busybox").withEnvVariable("N", unique())
      .withExec(["sh", "-c", `echo ping | nc -w 2 ${ip} ${echoPort} || echo unreachable; echo ping | nc -w 2 ${name} ${echoPort} || echo unresolvable`]).stdout();
    assert.is(there, "unreachable\nunresolvable\n");
  } finally {
    await other.close();
    await svc.stop();
  }
});

test.run();
