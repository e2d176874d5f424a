// Many services at once (issue 13): 50 distinct services started together, every one reachable by its binding alias
// and by its name from one client, every running service's hosts file holding every other's name (the session's
// coalesced rewrites and batched firewall admits lose nobody), and all of it removed after stop().
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Client, Service } from "../../../src/index.js";
import { connect } from "../../rig/connect.js";
import { enginePaths, engineClient } from "../../rig/engine.js";
import { listLeases } from "../../../src/network/index.js";

const NAMESPACE = "svcd-test";
const SESSION = `scale-${process.pid}`;
const K = 50;
const test = suite<{ client: Client }>("scale");
const unique = () => `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

/** This session's service containers: id → hostname label. */
async function serviceContainers(): Promise<Map<string, string>> {
  const cd = engineClient(NAMESPACE);
  try {
    const { containers } = await cd.containers.list({});
    const ours = containers.filter((c) => c.labels["svcd.io/kind"] === "service" && c.labels["svcd.io/session"] === SESSION);
    return new Map(ours.map((c) => [c.id, c.labels["svcd.io/service.hostname"] ?? ""]));
  } finally {
    cd.close();
  }
}

test.before(async (ctx) => {
  ctx.client = await connect({ namespace: NAMESPACE, sessionId: SESSION, serviceGracePeriodMs: 0 });
});
test.after(async (ctx) => {
  await ctx.client.close();
});

test(`${K} services started together: each reachable by alias and name, every hosts file complete, all removed after stop`, async ({ client }) => {
  const run = unique();
  const services: Service[] = Array.from({ length: K }, (_, i) =>
    client.container().from("busybox").withNewFile("/www/index.html", `svc ${i} ${run}`).withExposedPort(8080)
      .withEntrypoint(["httpd", "-f", "-p", "8080", "-h", "/www"]).asService());
  await Promise.all(services.map((s) => s.start()));
  const names = await Promise.all(services.map((s) => s.hostname()));

  // Every running service's own hosts file names every service of the session (rewritten in place as each started).
  const running = await serviceContainers();
  assert.is(running.size, K, "one container per service");
  const paths = enginePaths();
  for (const id of running.keys()) {
    const hosts = await readFile(join(paths.hostsDir, id, "hosts"), "utf8");
    const missing = names.filter((n) => !new RegExp(`\\s${n}(\\s|$)`, "m").test(hosts));
    assert.equal(missing, [], `${id}'s hosts file names every service`);
  }

  // One client bound to all of them: each answers by its alias and by its content-addressed name.
  let client1 = client.container().from("busybox").withEnvVariable("BUST", unique());
  services.forEach((s, i) => (client1 = client1.withServiceBinding(`s${i}`, s)));
  const script = names.map((n, i) => `wget -qO- http://s${i}:8080/; echo; wget -qO- http://${n}:8080/; echo`).join("; ");
  const out = (await client1.withExec(["sh", "-c", script]).stdout()).trim().split("\n");
  assert.equal(out, services.flatMap((_, i) => [`svc ${i} ${run}`, `svc ${i} ${run}`]));

  await Promise.all(services.map((s) => s.stop({ kill: true })));
  const ids = [...running.keys()];
  const leftovers = async () => {
    const containers = await serviceContainers();
    const leases = new Set((await listLeases(`${paths.ipamDir}/svcd`)).map((l) => l.containerId));
    return ids.filter((id) => containers.has(id) || existsSync(paths.containerNetns(id)) || existsSync(join(paths.hostsDir, id)) || leases.has(id));
  };
  // stop() resolves once the processes exited; removal finishes in the background (close() would wait for it).
  const deadline = Date.now() + 60_000;
  while ((await leftovers()).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.equal(await leftovers(), [], "containers, netns, hosts files and leases of all services removed");
});

test.run();
