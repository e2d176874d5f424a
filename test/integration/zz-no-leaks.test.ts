// Runs last (the runner sorts files): whatever the suite did, containerd holds no containers, tasks, active
// snapshots or leases in any namespace, and no FIFO dirs, netns files, IP leases or hosts files remain.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import { ContainerdClient } from "../../src/containerd/index.js";
import { Paths } from "../../src/common/paths.js";
import { listLeases } from "../../src/network/index.js";

const address = process.env.CONTAINERD_ADDRESS ?? "/run/containerd/containerd.sock";

test("no containers, tasks, active snapshots or leases remain in any namespace", async () => {
  const root = new ContainerdClient({ address, namespace: "default" });
  try {
    const { namespaces } = await root.namespaces.list({});
    const leaks: string[] = [];
    for (const { name } of namespaces) {
      const client = root.withNamespace(name);
      const { containers } = await client.containers.list({});
      for (const c of containers) leaks.push(`${name}: container ${c.id}`);
      const { tasks } = await client.tasks.list({});
      for (const t of tasks) leaks.push(`${name}: task ${t.id}`);
      for await (const page of client.snapshots.list({ snapshotter: "overlayfs" })) {
        for (const info of page.info) if (info.kind === "ACTIVE") leaks.push(`${name}: active snapshot ${info.name}`);
      }
      const { leases } = await client.leases.list({});
      for (const l of leases) leaks.push(`${name}: lease ${l.id}`);
    }
    assert.equal(leaks, []);
  } finally {
    root.close();
  }
});

test("no task FIFO directories, container netns files, IP leases or hosts files remain", async () => {
  const paths = Paths.fromEnv();
  assert.equal(await readdir(`${paths.runtime}/fifo`).catch(() => []), [], "FIFO dirs");
  // The hub's own netns file goes with the last engine; container netns files are named ctr-<id>.
  assert.equal((await readdir(paths.netnsDir).catch(() => [] as string[])).filter((f) => f !== "hub"), [], "netns files");
  assert.equal(await listLeases(`${paths.ipamDir}/svcd`), [], "IP leases");
  assert.equal(await readdir(paths.hostsDir).catch(() => []), [], "hosts files");
  // The last engine to leave the hub stops its slirp4netns.
  assert.not.ok(existsSync(paths.egressPidFile), "egress (slirp4netns) record");
});

test.run();
