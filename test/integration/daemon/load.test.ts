// Load on one daemon (issue 10): 20 concurrent clients, each running the seed scenario 10 times — its own httpd
// service started just in time for a busybox client that fetches the page through the alias `www`, then stopped
// (grace 0) — with no error. Three runs in a row; after each, once every client has left, the daemon's open
// descriptors and handles are back at their idle level, and its heap in use after a forced GC does not grow
// from run to run. The leak check after the file covers containerd objects, processes, mounts and network state.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { connect } from "../../../src/index.js";
import { daemonStatus } from "../../../src/daemon/index.js";
import { startTestDaemon, type TestDaemon } from "../../rig/daemon.js";

const CLIENTS = Number(process.env.SVCD_TEST_LOAD_CLIENTS ?? 20);
const SCENARIOS = Number(process.env.SVCD_TEST_LOAD_SCENARIOS ?? 10);
const MiB = 1024 * 1024;
const test = suite<{ daemon: TestDaemon }>("daemon load");

test.before(async (ctx) => {
  ctx.daemon = await startTestDaemon({ env: process.env, args: ["--namespace", "svcd-test"] });
});

test.after(async (ctx) => {
  assert.is(await ctx.daemon?.stop(), 0, "the daemon stops cleanly after the load");
});

async function client(socket: string, run: number, index: number): Promise<number[]> {
  const c = await connect({ engine: "daemon", socket, serviceGracePeriodMs: 0 });
  const latencies: number[] = [];
  try {
    const web = c.container().from("busybox").withEnvVariable("CLIENT", `${process.pid}-${run}-${index}`).withNewFile("/srv/index.html", "Hello, world!")
      .withExposedPort(8080).asService({ args: ["httpd", "-f", "-p", "8080", "-h", "/srv"] });
    for (let i = 0; i < SCENARIOS; i++) {
      const started = Date.now();
      const out = await c.container().from("busybox").withServiceBinding("www", web).withEnvVariable("NONCE", `${run}-${index}-${i}-${Date.now()}`)
        .withExec(["wget", "-qO-", "http://www:8080"]).stdout();
      assert.is(out, "Hello, world!");
      latencies.push(Date.now() - started);
    }
  } finally {
    await c.close();
  }
  return latencies;
}

/** The daemon's state once idle: every client gone (their close() resolved after the daemon released them). */
async function idle(socket: string) {
  const s = await daemonStatus(socket, { gc: true });
  assert.is(s.sessions, 0, "no session left");
  assert.is(s.clients, 0, "no client left");
  assert.ok(s.gc_done, "the daemon collected garbage first (it runs with --expose-gc)");
  return s;
}

test("20 clients × 10 seed scenarios, three times: no error, and the daemon's fds, handles and heap do not grow", async ({ daemon }) => {
  // One warm-up scenario first: the image is pulled, the code paths are compiled (lazy code is not growth).
  await client(daemon.socket, 0, 0);
  const baseline = await idle(daemon.socket);
  const heaps: number[] = [];
  for (let run = 1; run <= 3; run++) {
    const started = Date.now();
    const all = (await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(daemon.socket, run, i)))).flat().sort((a, b) => a - b);
    const seconds = (Date.now() - started) / 1000;
    const after = await idle(daemon.socket);
    heaps.push(Number(after.heap_used));
    process.stderr.write(
      `load run ${run}: ${all.length} scenarios in ${seconds.toFixed(1)} s (${(all.length / seconds).toFixed(1)}/s), p50 ${all[Math.floor(all.length / 2)]} ms, ` +
        `p99 ${all[Math.floor(all.length * 0.99)]} ms; fds ${after.open_fds} (idle ${baseline.open_fds}), heap ${(Number(after.heap_used) / MiB).toFixed(1)} MiB, ` +
        `rss ${(Number(after.rss) / MiB).toFixed(1)} MiB, handles ${JSON.stringify(after.handles)}\n`,
    );
    assert.is(all.length, CLIENTS * SCENARIOS);
    assert.is(after.open_fds, baseline.open_fds, "open descriptors back at the idle level");
    assert.equal(after.handles, baseline.handles, "active handles back at the idle level");
  }
  // A leak of a few bytes per scenario is 200 × that per run: a second and third run may not add more than 1 MiB
  // plus 5 % on the run before (V8 keeps some compiled code and inline caches that are not growth).
  assert.ok(heaps[2]! <= heaps[1]! * 1.05 + MiB, `heap after runs 2 and 3: ${heaps.map((h) => (h / MiB).toFixed(1)).join(", ")} MiB`);
  assert.ok(heaps[1]! <= heaps[0]! * 1.05 + MiB, `heap after runs 1 and 2: ${heaps.map((h) => (h / MiB).toFixed(1)).join(", ")} MiB`);
});

test.run();
