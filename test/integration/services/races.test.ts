// Lifecycle races (issue 8, item 4) against real containerd, each interleaving forced by events the test controls:
// services and execs block on a "gate" (a host service whose HTTP answer the test holds back), image pulls on a
// registry proxy that holds the manifest request; exits are containerd's /tasks/exit events. No sleeps.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { readFileSync } from "node:fs";
import { type Client, type Container, type Service } from "../../../src/index.js";
import { connect } from "../../rig/connect.js";
import { ContainerdClient } from "../../../src/containerd/index.js";
import { hostHash } from "../../../src/definition/index.js";
import { gate, within, type Gate } from "../../helpers/gate.js";
import { rejectsWith } from "../../helpers/errors.js";

const NAMESPACE = "svcd-test";
const SESSION = `races-${process.pid}`;
const GRACE_MS = 300;
const unique = () => `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

/** An HTTP server whose answers the test releases per path; every request is an event. */
class GateServer {
  readonly server: Server;
  port = 0;
  readonly requests: string[] = [];
  readonly #arrivals = new Map<string, Gate<void>>();
  readonly #open = new Map<string, Gate<void>>();

  constructor() {
    this.server = createHttpServer((req, res) => {
      const path = req.url ?? "/";
      this.requests.push(path);
      this.#gate(this.#arrivals, path).open();
      void this.#gate(this.#open, path).promise.then(() => res.end(`open ${path}`));
      res.on("close", () => {}); // a container killed mid-request just drops it
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this.port;
  }

  /** Resolves once a request for `path` has arrived. */
  arrived(path: string): Promise<void> {
    return within(this.#gate(this.#arrivals, path).promise, 60_000, `request for ${path}`);
  }

  open(path: string): void {
    this.#gate(this.#open, path).open();
  }

  close(): void {
    for (const g of this.#open.values()) g.open();
    this.server.closeAllConnections();
    this.server.close();
  }

  #gate(map: Map<string, Gate<void>>, path: string): Gate<void> {
    let g = map.get(path);
    if (!g) map.set(path, (g = gate<void>()));
    return g;
  }
}

/** containerd's task events of one topic (/tasks/exit, /tasks/create) in the test namespace, by container id. */
class TaskEvents {
  readonly #cd: ContainerdClient;
  readonly #stop = new AbortController();
  readonly #seen: string[] = [];
  readonly #waiters: { match: (id: string) => boolean; g: Gate<string> }[] = [];

  constructor(address: string, readonly topic: string) {
    const cd = new ContainerdClient({ address, namespace: NAMESPACE });
    this.#cd = cd;
    void (async () => {
      for await (const ev of cd.subscribe([`topic=="${topic}",namespace=="${NAMESPACE}"`], { signal: this.#stop.signal })) {
        const id = String(ev.event.container_id ?? "");
        // An exec's exit carries its exec id in id; the task's own exit has id == container_id.
        if (ev.event.id !== undefined && ev.event.id !== id) continue;
        this.#seen.push(id);
        for (const w of this.#waiters) if (w.match(id)) w.g.open(id);
      }
    })();
  }

  /** How many events were seen so far: `first(part, mark())` then ignores those. */
  mark(): number {
    return this.#seen.length;
  }

  /**
   * Resolves with the id of the first container whose id contains `part` to have the event, among those seen from
   * the `from`th on (earlier ones included, from 0).
   */
  first(part: string, from = 0, ms = 30_000): Promise<string> {
    const match = (id: string) => id.includes(part);
    const g = gate<string>();
    const already = this.#seen.slice(from).find(match);
    if (already) g.open(already);
    else this.#waiters.push({ match, g });
    return within(g.promise, ms, `${this.topic} of a container named *${part}*`);
  }

  /** Resolves with the id of the first container whose id contains `part` to exit. */
  exitOf(part: string, ms = 30_000): Promise<string> {
    return this.first(part, 0, ms);
  }

  close(): void {
    this.#stop.abort();
    this.#cd.close();
  }
}

/** The status of the container's task (RUNNING, CREATED, STOPPED…), or "" when it has none. */
async function taskStatus(id: string): Promise<string> {
  const cd = new ContainerdClient({ address: process.env.CONTAINERD_ADDRESS!, namespace: NAMESPACE });
  try {
    const { tasks } = await cd.tasks.list({});
    return tasks.find((t) => t.id === id)?.status ?? "";
  } finally {
    cd.close();
  }
}

/** The session's containers (exec and service) still in containerd whose ids contain `part`. */
async function containersOf(part: string): Promise<string[]> {
  const cd = new ContainerdClient({ address: process.env.CONTAINERD_ADDRESS!, namespace: NAMESPACE });
  try {
    const { containers } = await cd.containers.list({});
    return containers.map((c) => c.id).filter((id) => id.includes(part));
  } finally {
    cd.close();
  }
}

async function runningTasks(part: string): Promise<{ id: string; pid: number }[]> {
  const cd = new ContainerdClient({ address: process.env.CONTAINERD_ADDRESS!, namespace: NAMESPACE });
  try {
    const { tasks } = await cd.tasks.list({});
    return tasks.filter((t) => t.id.includes(part) && t.status === "RUNNING").map((t) => ({ id: t.id, pid: t.pid }));
  } finally {
    cd.close();
  }
}

/** True once the host pid is gone or a zombie (it has exited; only its parent's reaping is left). */
function hasExited(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

interface Ctx {
  client: Client;
  gates: GateServer;
  gateSvc: Service;
  exits: TaskEvents;
  creates: TaskEvents;
}
const test = suite<Ctx>("lifecycle races");

test.before(async (ctx) => {
  ctx.gates = new GateServer();
  await ctx.gates.listen();
  ctx.exits = new TaskEvents(process.env.CONTAINERD_ADDRESS!, "/tasks/exit");
  ctx.creates = new TaskEvents(process.env.CONTAINERD_ADDRESS!, "/tasks/create");
  ctx.client = await connect({ namespace: NAMESPACE, sessionId: SESSION, serviceGracePeriodMs: GRACE_MS });
  ctx.gateSvc = ctx.client.host().service([{ backend: ctx.gates.port }]);
});
test.after(async (ctx) => {
  ctx.gates.close();
  await ctx.client.close();
  ctx.exits.close();
  ctx.creates.close();
});

/** The session's exec containers are named svcd-<session hash>-exec-<random>. */
const EXEC_PREFIX = `svcd-${hostHash(SESSION)}-exec-`;
const busybox = (c: Client): Container => c.container().from("busybox").withEnvVariable("BUST", unique());

/** A busybox httpd on 8080 that first waits for the test to open `/<name>` on the gate; hostname `<name>`. */
function gatedHttpd(ctx: Ctx, name: string): Service {
  return busybox(ctx.client).withServiceBinding("gate", ctx.gateSvc).withNewFile("/www/index.html", name).withExposedPort(8080)
    .withEntrypoint(["sh", "-c", `wget -qO- http://gate:${ctx.gates.port}/${name}; exec httpd -f -p 8080 -h /www`])
    .asService().withHostname(name);
}

test("one binding fails while another is still starting: the other's reference is released and it stops", async (ctx) => {
  const n = unique().replace(/[^a-z0-9]/g, "").slice(-8);
  const slow = gatedHttpd(ctx, `slow${n}`);
  // Exits with 7 once the test opens its gate: it fails while `slow` is under way.
  const failing = busybox(ctx.client).withServiceBinding("gate", ctx.gateSvc).withExposedPort(8080)
    .withEntrypoint(["sh", "-c", `wget -qO- http://gate:${ctx.gates.port}/fail${n}; exit 7`]).asService().withHostname(`fail${n}`);
  const run = busybox(ctx.client).withServiceBinding("a", slow).withServiceBinding("b", failing).withExec(["true"]).sync();
  run.catch(() => {});
  await Promise.all([ctx.gates.arrived(`/slow${n}`), ctx.gates.arrived(`/fail${n}`)]);
  ctx.gates.open(`/fail${n}`);
  const err = await rejectsWith(run, "SERVICE_FAILED", /exited with code 7/);
  assert.match(err.message, new RegExp(`fail${n}`));
  // `slow` may now become healthy: nothing holds it, so the grace period ends it (before the fix it ran on).
  ctx.gates.open(`/slow${n}`);
  await ctx.exits.exitOf(`slow${n}`);
  assert.equal(await runningTasks(`slow${n}`), []);
});

test("a client's container and task are made while its bound service starts; its process starts once it is healthy", async (ctx) => {
  const name = `early${unique().replace(/[^a-z0-9]/g, "").slice(-8)}`;
  const svc = gatedHttpd(ctx, name);
  const mark = ctx.creates.mark();
  const run = busybox(ctx.client).withServiceBinding("web", svc).withExec(["wget", "-qO-", "http://web:8080/"]).stdout();
  run.catch(() => {});
  await ctx.gates.arrived(`/${name}`); // the service's process runs and is not healthy: it waits on the gate
  const exec = await ctx.creates.first(EXEC_PREFIX, mark);
  assert.is(await taskStatus(exec), "CREATED", "the client's task exists, its process has not started");
  ctx.gates.open(`/${name}`);
  assert.is(await run, name, "the alias set once the service was up resolves");
  await svc.stop();
});

test("a service's own bound service starts while its container and task are made; the alias works once it is up", async (ctx) => {
  const n = unique().replace(/[^a-z0-9]/g, "").slice(-8);
  const inner = gatedHttpd(ctx, `inner${n}`);
  const outer = busybox(ctx.client).withServiceBinding("inner", inner).withExposedPort(8080)
    .withEntrypoint(["sh", "-c", "mkdir -p /www && wget -qO /www/index.html http://inner:8080/ && exec httpd -f -p 8080 -h /www"])
    .asService().withHostname(`outer${n}`);
  const mark = ctx.creates.mark();
  const starting = outer.start();
  starting.catch(() => {});
  await ctx.gates.arrived(`/inner${n}`);
  const id = await ctx.creates.first(`-svc-outer${n}`, mark);
  assert.is(await taskStatus(id), "CREATED", "the outer service's task exists, its process has not started");
  ctx.gates.open(`/inner${n}`);
  await starting;
  assert.is(await busybox(ctx.client).withServiceBinding("web", outer).withExec(["wget", "-qO-", "http://web:8080/"]).stdout(), `inner${n}`);
  await outer.stop();
  await inner.stop();
});

test("a bound service that fails while the client's container is made: its error, and the client's container is gone", async (ctx) => {
  const n = unique().replace(/[^a-z0-9]/g, "").slice(-8);
  const failing = busybox(ctx.client).withServiceBinding("gate", ctx.gateSvc).withExposedPort(8080)
    .withEntrypoint(["sh", "-c", `wget -qO- http://gate:${ctx.gates.port}/dies${n}; exit 9`]).asService().withHostname(`dies${n}`);
  const marker = `client-${n}`;
  const mark = ctx.creates.mark();
  const run = busybox(ctx.client).withEnvVariable("MARK", marker).withServiceBinding("web", failing).withExec(["true"]).sync();
  run.catch(() => {});
  await ctx.gates.arrived(`/dies${n}`);
  const exec = await ctx.creates.first(EXEC_PREFIX, mark); // made while the service started
  ctx.gates.open(`/dies${n}`);
  await rejectsWith(run, "SERVICE_FAILED", /exited with code 9/);
  assert.equal(await containersOf(exec), [], "the client's container was removed before the call failed");
});

test("an aborted start() leaves nothing pinned or running", async (ctx) => {
  const name = `pin${unique().replace(/[^a-z0-9]/g, "").slice(-8)}`;
  const svc = gatedHttpd(ctx, name);
  const abort = new AbortController();
  const starting = svc.start({ signal: abort.signal });
  starting.catch(() => {});
  await ctx.gates.arrived(`/${name}`); // the start is under way: its container runs, not yet healthy
  abort.abort();
  await rejectsWith(starting, "CANCELLED");
  ctx.gates.open(`/${name}`); // the start may now finish: unpinned and unreferenced, it is stopped
  await ctx.exits.exitOf(name);
  assert.equal(await runningTasks(name), []);
});

test("a build step shared by two callers: A's abort ends only A's wait; B gets the result of the one run", async (ctx) => {
  const path = `/build-${unique()}`;
  const step = busybox(ctx.client).withServiceBinding("gate", ctx.gateSvc).withExec(["sh", "-c", `wget -qO- http://gate:${ctx.gates.port}${path}`]);
  const abort = new AbortController();
  const a = step.stdout({ signal: abort.signal });
  const b = step.stdout();
  a.catch(() => {});
  b.catch(() => {});
  await ctx.gates.arrived(path); // the exec runs, both callers wait on it
  abort.abort();
  await rejectsWith(a, "CANCELLED");
  ctx.gates.open(path);
  assert.is(await b, `open ${path}`);
  assert.is(ctx.gates.requests.filter((p) => p === path).length, 1, "the step ran once");
});

test("a service start shared by two binders: A's abort ends only A's wait; B runs against the one service", async (ctx) => {
  const name = `share${unique().replace(/[^a-z0-9]/g, "").slice(-8)}`;
  const svc = gatedHttpd(ctx, name);
  const abort = new AbortController();
  const client = (n: number) => busybox(ctx.client).withEnvVariable("N", String(n)).withServiceBinding("web", svc).withExec(["wget", "-qO-", "http://web:8080/"]);
  const a = client(1).stdout({ signal: abort.signal });
  const b = client(2).stdout();
  a.catch(() => {});
  b.catch(() => {});
  await ctx.gates.arrived(`/${name}`); // the one start is under way, both binders wait on it
  abort.abort();
  await rejectsWith(a, "CANCELLED");
  ctx.gates.open(`/${name}`);
  assert.is(await b, name);
  assert.is(ctx.gates.requests.filter((p) => p === `/${name}`).length, 1, "one start");
});

test("an image pull shared by two callers: A's abort ends only A's wait; B gets the image", async () => {
  // A registry proxy that holds manifest requests until the test lets them through.
  const upstream = process.env.SVCD_TEST_REGISTRY!;
  const held = gate<void>();
  const arrived = gate<void>();
  const manifests: string[] = [];
  const proxy = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const forward = () => {
      const up = httpRequest(`http://${upstream}${req.url}`, { method: req.method, headers: { ...req.headers, host: upstream } }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on("error", () => res.destroy());
      req.pipe(up);
    };
    if (req.url?.includes("/manifests/")) {
      manifests.push(`${req.method} ${req.url}`);
      arrived.open();
      void held.promise.then(forward);
    } else forward();
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const port = (proxy.address() as { port: number }).port;
  const client = await connect({ namespace: NAMESPACE, sessionId: `${SESSION}-pull`, registryMirrors: { "docker.io": `http://127.0.0.1:${port}` } });
  try {
    const image = client.container().from("busybox");
    const abort = new AbortController();
    const a = image.digest({ signal: abort.signal });
    const b = image.digest();
    a.catch(() => {});
    b.catch(() => {});
    await within(arrived.promise, 30_000, "manifest request");
    abort.abort();
    await rejectsWith(a, "CANCELLED");
    held.open();
    assert.match(await b, /^sha256:[0-9a-f]{64}$/);
    assert.is(new Set(manifests).size, manifests.length, `one pull (${manifests.join(", ")})`);
  } finally {
    held.open();
    await client.close();
    proxy.closeAllConnections();
    proxy.close();
  }
});

/** A service that ignores SIGTERM (sh traps it; its children inherit the ignored disposition), no ports. */
function stubborn(ctx: Ctx, name: string): Service {
  return busybox(ctx.client).withEntrypoint(["sh", "-c", "trap '' TERM; while :; do sleep 1; done"]).asService().withHostname(name);
}

test("stop() on a process that ignores SIGTERM: SIGKILL after 10 s, resolved once it has exited", async (ctx) => {
  const name = `term${unique().replace(/[^a-z0-9]/g, "").slice(-8)}`;
  const svc = await stubborn(ctx, name).start();
  const [task] = await runningTasks(name);
  assert.ok(task, "the service runs");
  const started = Date.now();
  await svc.stop();
  const took = Date.now() - started;
  assert.ok(hasExited(task.pid), "the process has exited when stop() resolves");
  assert.ok(took >= 10_000, `SIGKILL only after 10 s (took ${took} ms)`);
  assert.ok(took < 20_000, `not much later (took ${took} ms)`);
});

test("concurrent stop() and stop({ kill: true }): the kill does not wait out SIGTERM's 10 s; both resolve after the exit", async (ctx) => {
  const name = `kill${unique().replace(/[^a-z0-9]/g, "").slice(-8)}`;
  const svc = await stubborn(ctx, name).start();
  const [task] = await runningTasks(name);
  assert.ok(task);
  const started = Date.now();
  const gentle = svc.stop();
  const killing = svc.stop({ kill: true });
  await killing;
  assert.ok(hasExited(task.pid), "exited when stop({ kill: true }) resolves");
  await gentle;
  assert.ok(Date.now() - started < 10_000, `the SIGTERM stop did not hold the kill back (${Date.now() - started} ms)`);
});

test("stop() while the start is under way cancels it: the start fails, nothing runs when stop() resolves", async (ctx) => {
  const name = `race${unique().replace(/[^a-z0-9]/g, "").slice(-8)}`;
  const svc = gatedHttpd(ctx, name);
  const starting = svc.start();
  starting.catch(() => {});
  await ctx.gates.arrived(`/${name}`);
  await svc.stop();
  assert.equal(await runningTasks(name), [], "no task runs when stop() resolves");
  await rejectsWith(starting, "SERVICE_FAILED", /stopped/);
  ctx.gates.open(`/${name}`);
  // The next start is a fresh one and works.
  await svc.start();
  await svc.stop();
});

test.run();
