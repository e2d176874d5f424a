// An exec's teardown runs after its result is back (issue 13): its task, container, lease, netns, hosts files and
// firewall entries go once stdout() has returned, and its bound services are released when it exits. close() waits
// for all of it, so a session closed right after stdout() leaves nothing. Compared with what was there before each
// test (the daemon pass's daemon holds the hub meanwhile).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ContainerdClient } from "../../../src/containerd/index.js";
import { checkLeaks } from "../../rig/leak-check.js";
import { connect } from "../../rig/connect.js";

const address = process.env.CONTAINERD_ADDRESS ?? "/run/containerd/containerd.sock";
const unique = () => `t${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

/**
 * Runs `run` in a new session and closes it. Returns the exec containers of the namespace seen right after close()
 * resolved (one call: an exec's removal takes longer, so one not waited for is still there), and the leaks new
 * since before (the hub's last release would reap a netns that close() left, so that alone could not tell).
 */
async function leftBy(run: (client: Awaited<ReturnType<typeof connect>>) => Promise<void>): Promise<{ execs: string[]; leaks: string[] }> {
  const before = new Set(await checkLeaks({ address }));
  const ns = new ContainerdClient({ address, namespace: "svcd-test" });
  try {
    const client = await connect({ namespace: "svcd-test" });
    try {
      await run(client);
    } finally {
      await client.close();
    }
    const { containers } = await ns.containers.list({});
    const execs = containers.map((c) => c.id).filter((id) => id.includes("-exec-"));
    return { execs, leaks: (await checkLeaks({ address })).filter((l) => !before.has(l)) };
  } finally {
    ns.close();
  }
}

test("close() right after an exec's stdout() waits for its teardown: nothing of it is left", async () => {
  const left = await leftBy(async (client) => {
    assert.is(await client.container().from("busybox").withEnvVariable("N", unique()).withExec(["echo", "done"]).stdout(), "done\n");
  });
  assert.equal(left, { execs: [], leaks: [] });
});

test("the same with a bound service, released when the client exits and stopped by close()", async () => {
  const left = await leftBy(async (client) => {
    const www = client
      .container()
      .from("busybox")
      .withNewFile("/www/index.html", "hello")
      .withExposedPort(8080)
      .asService({ args: ["httpd", "-f", "-p", "8080", "-h", "/www"] });
    const out = await client.container().from("busybox").withEnvVariable("N", unique()).withServiceBinding("www", www).withExec(["wget", "-q", "-O-", "http://www:8080/"]).stdout();
    assert.is(out, "hello");
  });
  assert.equal(left, { execs: [], leaks: [] });
});

test.run();
