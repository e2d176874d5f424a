// The daemon killed with SIGKILL (issue 10, DESIGN.md §6): every client's pending and next call fails at once with
// EngineUnavailableError (no hang), and the restarted daemon reaps, before it serves, everything the dead one made —
// containers, tasks, snapshots, leases, netns files, IP leases, hosts files, firewall entries, the forward agent —
// as the leak check proves.
import { existsSync } from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { connect, EngineUnavailableError } from "../../../src/index.js";
import { privateSocket, startTestDaemon } from "../../rig/daemon.js";
import { engineAddress, engineClient } from "../../rig/engine.js";
import { checkLeaks } from "../../rig/leak-check.js";

const NAMESPACE = "svcd-test";
const test = suite("daemon crash");

test("SIGKILL of the daemon: clients fail fast, the restarted daemon reaps all it left", async () => {
  const before = new Set(await checkLeaks({ address: engineAddress() }));
  const where = privateSocket();
  try {
    const first = await startTestDaemon({ env: process.env, socket: where.socket, args: ["--namespace", NAMESPACE] });
    const client = await connect({ engine: "daemon", socket: where.socket, serviceGracePeriodMs: 0 });
    const other = await connect({ engine: "daemon", socket: where.socket });
    const web = client.container().from("busybox").withNewFile("/srv/index.html", "Hello, world!").withExposedPort(8080).asService({ args: ["httpd", "-f", "-p", "8080", "-h", "/srv"] });
    await web.start();
    const up = await web.up({ random: true });
    const res = await fetch(`http://127.0.0.1:${up.ports[0]!.frontend}/`);
    assert.is(await res.text(), "Hello, world!");
    // A call under way when the daemon dies: a client bound to the service, running for a long time; its task's
    // start event says it is under way.
    const cd = engineClient(NAMESPACE);
    const stopEvents = new AbortController();
    const started = cd.subscribe([`topic=="/tasks/start",namespace=="${NAMESPACE}"`], { signal: stopEvents.signal })[Symbol.asyncIterator]();
    const execStarted = started.next();
    const pending = client.container().from("busybox").withServiceBinding("www", web).withEnvVariable("NONCE", `${Date.now()}`).withExec(["sleep", "60"]).sync();
    pending.catch(() => {});
    await execStarted;
    stopEvents.abort();
    cd.close();
    const leftRunning = await checkLeaks({ address: engineAddress() });
    assert.ok(leftRunning.some((l) => l.startsWith("container:")), "the daemon's service is running before the kill");

    const killedAt = Date.now();
    await first.kill();
    const err = await pending.then(() => undefined, (e: unknown) => e);
    const failedAfter = Date.now() - killedAt;
    assert.instance(err, EngineUnavailableError, `the pending call fails with EngineUnavailableError, got ${String(err)}`);
    assert.is((err as EngineUnavailableError).code, "UNAVAILABLE");
    assert.ok(failedAfter < 5_000, `fails fast (${failedAfter} ms)`);
    const next = Date.now();
    const again = await client.container().from("busybox").withExec(["true"]).sync().then(() => undefined, (e: unknown) => e);
    assert.instance(again, EngineUnavailableError, "the next call fails the same way");
    assert.ok(Date.now() - next < 1_000, "at once");
    const fromOther = await other.container().from("busybox").withExec(["true"]).sync().then(() => undefined, (e: unknown) => e);
    assert.instance(fromOther, EngineUnavailableError, "every client of the dead daemon");
    await up.close(); // the tunnels went with the daemon: closing is a no-op, not an error
    await client.close();
    await other.close();

    const restarted = await startTestDaemon({ env: process.env, socket: where.socket, args: ["--namespace", NAMESPACE] });
    try {
      // Served only after the reap: what the dead daemon made is gone by the time the socket answers.
      const left = (await checkLeaks({ address: engineAddress() })).filter((l) => !before.has(l));
      assert.equal(left, [], "nothing of the dead daemon is left once its successor serves");
      const fresh = await connect({ engine: "daemon", socket: where.socket });
      assert.is(await fresh.container().from("busybox").withExec(["echo", "back"]).stdout(), "back\n");
      await fresh.close();
    } finally {
      assert.is(await restarted.stop(), 0);
    }
  } finally {
    where.remove();
  }
});

test("SIGTERM drains: a call under way finishes, then the sessions end, the socket goes, and nothing is left", async () => {
  const before = new Set(await checkLeaks({ address: engineAddress() }));
  const daemon = await startTestDaemon({ env: process.env, args: ["--namespace", NAMESPACE] });
  const client = await connect({ engine: "daemon", socket: daemon.socket, serviceGracePeriodMs: 0 });
  const cd = engineClient(NAMESPACE);
  const stopEvents = new AbortController();
  const started = cd.subscribe([`topic=="/tasks/start",namespace=="${NAMESPACE}"`], { signal: stopEvents.signal })[Symbol.asyncIterator]();
  const execStarted = started.next();
  const running = client.container().from("busybox").withEnvVariable("NONCE", `${Date.now()}`).withExec(["sh", "-c", "sleep 1; echo finished"]).stdout();
  await execStarted;
  stopEvents.abort();
  cd.close();
  const stopped = daemon.stop();
  assert.is(await running, "finished\n", "the call under way was let finish");
  assert.is(await stopped, 0);
  assert.not.ok(existsSync(daemon.socket), "the socket file is removed");
  const after = await client.container().from("busybox").withExec(["true"]).sync().then(() => undefined, (e: unknown) => e);
  assert.instance(after, EngineUnavailableError, "then the daemon is gone for its clients");
  await client.close();
  assert.equal((await checkLeaks({ address: engineAddress() })).filter((l) => !before.has(l)), []);
});

test.run();
