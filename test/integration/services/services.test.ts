// Service containers end to end (issue 4): real containerd, CNI plugins, the hub network and the forward agent.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { existsSync } from "node:fs";
import { ServiceError, type Client, type Container } from "../../../src/index.js";
import { connect } from "../../rig/connect.js";
import { ContainerdClient } from "../../../src/containerd/index.js";
import { hostHash } from "../../../src/definition/index.js";
import { enginePaths } from "../../rig/engine.js";
import { listLeases } from "../../../src/network/index.js";
import { isCode, rejectsWith } from "../../helpers/errors.js";

const NAMESPACE = "svcd-test";
const SESSION = `services-${process.pid}`;
const MODULE = "main";
const test = suite<{ client: Client }>("services");
const unique = () => `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
const busybox = (c: Client) => c.container().from("busybox").withEnvVariable("BUST", unique());

/** A busybox httpd serving `body` on 8080. */
function httpd(c: Client, body: string, opts: { before?: string } = {}): Container {
  return c.container().from("busybox").withNewFile("/www/index.html", body).withExposedPort(8080)
    .withEntrypoint(["sh", "-c", `${opts.before ?? ""} exec httpd -f -p 8080 -h /www`]);
}

async function serviceContainers(): Promise<string[]> {
  const cd = new ContainerdClient({ address: process.env.CONTAINERD_ADDRESS!, namespace: NAMESPACE });
  try {
    const { containers } = await cd.containers.list({});
    return containers.filter((c) => c.labels["svcd.io/kind"] === "service").map((c) => c.id);
  } finally {
    cd.close();
  }
}

test.before(async (ctx) => {
  ctx.client = await connect({ namespace: NAMESPACE, sessionId: SESSION, moduleId: MODULE, serviceGracePeriodMs: 300 });
});
test.after(async (ctx) => {
  await ctx.client.close();
});

test("the seed example: a python http.server reached as www from busybox", async ({ client }) => {
  const web = client.container().from("python").withWorkdir("/srv").withNewFile("index.html", "Hello, world!")
    .withExposedPort(8080).asService({ args: ["python", "-m", "http.server", "8080"] });
  const out = await client.container().from("busybox").withServiceBinding("www", web)
    .withExec(["wget", "-O-", "http://www:8080"]).stdout();
  assert.is(out, "Hello, world!");
});

test("two concurrent clients share one service; it is gone after the grace period", async ({ client }) => {
  const body = `shared ${unique()}`;
  const svc = httpd(client, body).asService();
  const before = await serviceContainers();
  const clientRun = (n: number) => busybox(client).withEnvVariable("N", String(n)).withServiceBinding("web", svc)
    .withExec(["sh", "-c", "wget -qO- http://web:8080; sleep 1"]).stdout();
  const seen: string[][] = [];
  const watcher = (async () => {
    for (let i = 0; i < 20; i++) {
      seen.push((await serviceContainers()).filter((id) => !before.includes(id)));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const outs = await Promise.all([clientRun(1), clientRun(2)]);
  await watcher;
  assert.equal(outs, [body, body]);
  assert.is(Math.max(...seen.map((s) => s.length)), 1, "exactly one service container at any time");
  const id = seen.find((s) => s.length === 1)![0]!;
  // Grace period (300 ms) then SIGTERM: busybox httpd as PID 1 under the init stops at once; then the teardown.
  const paths = enginePaths();
  const gone = async () =>
    !(await serviceContainers()).includes(id) &&
    !existsSync(paths.containerNetns(id)) &&
    !(await listLeases(`${paths.ipamDir}/svcd`)).some((l) => l.containerId === id);
  const deadline = Date.now() + 15_000;
  while (!(await gone()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.not.ok((await serviceContainers()).includes(id), "service container removed");
  assert.not.ok(existsSync(paths.containerNetns(id)), "netns file removed");
  assert.not.ok((await listLeases(`${paths.ipamDir}/svcd`)).some((l) => l.containerId === id), "IP lease released");
});

test("a client does not start before its service's port opens", async ({ client }) => {
  const svc = httpd(client, "late", { before: "sleep 2;" }).withEnvVariable("BUST", unique()).asService();
  const started = Date.now();
  // wget makes one attempt: a client started before the port opened would fail.
  const out = await busybox(client).withServiceBinding("late", svc).withExec(["wget", "-qO-", "http://late:8080"]).stdout();
  assert.is(out, "late");
  assert.ok(Date.now() - started >= 2000);
});

test("a service that exits fails its client with ServiceError holding the code and output", async ({ client }) => {
  const svc = busybox(client).withExposedPort(8080).withEntrypoint(["sh", "-c", "echo going down; echo on stderr >&2; exit 7"]).asService();
  const err = await rejectsWith<ServiceError>(busybox(client).withServiceBinding("x", svc).withExec(["true"]).sync(), "SERVICE_FAILED");
  assert.is(err.exitCode, 7);
  assert.match(err.logs, /going down/);
  assert.match(err.logs, /on stderr/);
  assert.match(err.message, /7/);
});

test("a service that never listens fails after its health-check timeout", async ({ client }) => {
  const svc = busybox(client).withExposedPort(8080).withEntrypoint(["sleep", "60"]).asService({ healthcheckTimeoutMs: 1500 });
  const started = Date.now();
  const err = await rejectsWith<ServiceError>(busybox(client).withServiceBinding("x", svc).withExec(["true"]).sync(), "SERVICE_FAILED", /timed out/);
  assert.ok(Date.now() - started < 15_000);
  assert.is(err.exitCode, undefined);
});

test("services with custom hostnames reach each other by full name (circular), started with start()", async ({ client }) => {
  const domain = `${hostHash(MODULE)}.${hostHash(SESSION)}.svcd.local`;
  const tag = unique();
  const peer = (me: string, other: string) =>
    busybox(client).withNewFile("/www/index.html", `${me} ${tag}`).withExposedPort(8080)
      .withEntrypoint(["sh", "-c", `httpd -p 8080 -h /www; until wget -qO /www/peer http://${other}.${domain}:8080/; do sleep 0.2; done; exec sleep 3600`])
      .asService().withHostname(me);
  const a = peer("a", "b");
  const b = peer("b", "a");
  await Promise.all([a.start(), b.start()]);
  try {
    const fetch = (host: string) => busybox(client).withExec(["sh", "-c", `until wget -qO- http://${host}:8080/peer; do sleep 0.2; done`]).stdout();
    assert.is(await fetch(`a.${domain}`), `b ${tag}`);
    assert.is(await fetch("b"), `a ${tag}`);
    assert.is(await a.hostname(), "a");
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test("endpoint and hostname are content-addressed and stable across sessions", async ({ client }) => {
  const svc = httpd(client, "x").asService();
  const endpoint = await svc.endpoint({ scheme: "http" });
  const hostname = await svc.hostname();
  assert.match(hostname, /^[0-9a-v]{13}$/);
  assert.is(endpoint, `http://${hostname}:8080`);
  assert.is(await svc.endpoint({ port: 9000 }), `${hostname}:9000`);
  const other = await connect({ namespace: NAMESPACE });
  try {
    assert.is(await httpd(other, "x").asService().hostname(), hostname);
    assert.is.not(await httpd(other, "y").asService().hostname(), hostname);
  } finally {
    await other.close();
  }
  await rejectsWith(busybox(client).asService().endpoint(), "INVALID_ARGUMENT", /no ports/);
  assert.equal(await svc.ports(), [{ port: 8080, protocol: "TCP" }]);
});

test("a cache volume keeps a service's state across stop and start", async ({ client }) => {
  const volume = client.cacheVolume(`counter-${unique()}`);
  const svc = client.container().from("busybox").withMountedCache("/data", volume).withExposedPort(8080)
    .withEntrypoint(["sh", "-c", "n=$(cat /data/count 2>/dev/null || echo 0); n=$((n+1)); echo $n > /data/count; mkdir -p /www; echo $n > /www/index.html; exec httpd -f -p 8080 -h /www"])
    .asService();
  const read = () => busybox(client).withServiceBinding("counter", svc).withExec(["wget", "-qO-", "http://counter:8080"]).stdout();
  await svc.start();
  assert.is(await read(), "1\n");
  await svc.stop();
  await svc.start();
  assert.is(await read(), "2\n");
  await svc.stop();
});

test("hostile aliases and hostnames are rejected before anything is written", async ({ client }) => {
  const svc = httpd(client, "x").asService();
  assert.throws(() => busybox(client).withServiceBinding("www\n1.2.3.4 evil", svc), isCode("INVALID_ARGUMENT"));
  assert.throws(() => busybox(client).withServiceBinding("a b", svc), isCode("INVALID_ARGUMENT"));
  assert.throws(() => svc.withHostname("x#y"), isCode("INVALID_ARGUMENT"));
});

test("a service that dies while its client runs cancels the client", async ({ client }) => {
  const svc = busybox(client).withNewFile("/www/index.html", "ok").withExposedPort(8080)
    .withEntrypoint(["sh", "-c", "httpd -p 8080 -h /www; sleep 2; exit 5"]).asService();
  const started = Date.now();
  const err = await rejectsWith<ServiceError>(
    busybox(client).withServiceBinding("dying", svc).withExec(["sh", "-c", "wget -qO- http://dying:8080; sleep 20"]).sync(),
    "SERVICE_FAILED",
  );
  assert.ok(Date.now() - started < 12_000, `cancelled after ${Date.now() - started} ms`);
  assert.is(err.exitCode, 5);
});

test("another session cannot resolve or reach a service the first started", async ({ client }) => {
  const name = `iso${Date.now().toString(36)}`;
  const svc = httpd(client, "private").asService().withHostname(name);
  await svc.start();
  const other = await connect({ namespace: NAMESPACE, sessionId: `other-${unique()}` });
  try {
    const here = await busybox(client).withExec(["sh", "-c", `wget -qO- http://${name}:8080; echo; grep -w ${name} /etc/hosts`]).stdout();
    const [body, hostsLine] = here.split("\n");
    assert.is(body, "private");
    const ip = hostsLine!.split(/\s+/)[0]!;
    assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
    // The other session's client is on the hub network too (it binds a service of its own), yet neither the name
    // nor the address of the first session's service answers there. Bounded by `timeout`: busybox-static's
    // `wget -T` segfaults, which would read as "unreachable" whatever the network did.
    const own = httpd(other, "own").asService();
    const probe = (target: string) =>
      busybox(other).withServiceBinding("own", own).withEnvVariable("BUST", unique())
        .withExec(["sh", "-c", `wget -qO- http://own:8080; echo; timeout 2 wget -qO- http://${target}:8080 || echo unreachable`]).stdout();
    // Positive control: the same bounded fetch does answer where there is something to reach.
    assert.is(await probe("own"), "own\nown");
    assert.is(await probe(name), "own\nunreachable\n");
    assert.is(await probe(ip), "own\nunreachable\n");
  } finally {
    await other.close();
    await svc.stop();
  }
});

test.run();
