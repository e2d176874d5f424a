// An engine killed with SIGKILL while its service runs leaves containerd objects, a netns, an IP lease and hosts
// files behind; the next connect() removes all of them.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { connect } from "../../rig/connect.js";
import { ContainerdClient } from "../../../src/containerd/index.js";
import { enginePaths } from "../../rig/engine.js";
import { OWNER } from "../../../src/common/labels.js";
import { listLeases } from "../../../src/network/index.js";

const fixture = fileURLToPath(new URL("./fixtures/crashing-engine.ts", import.meta.url));

async function sessionObjects(cd: ContainerdClient, sessionId: string) {
  const { containers } = await cd.containers.list({});
  const ids = containers.filter((c) => c.labels[OWNER.session] === sessionId).map((c) => c.id);
  const { tasks } = await cd.tasks.list({});
  const paths = enginePaths();
  const netns = ids.filter((id) => existsSync(paths.containerNetns(id)));
  const hosts = (await readdir(paths.hostsDir).catch(() => [] as string[])).filter((f) => ids.includes(f));
  const leases = (await listLeases(`${paths.ipamDir}/svcd`)).filter((l) => ids.includes(l.containerId));
  return { ids, tasks: tasks.filter((t) => ids.includes(t.id)).map((t) => t.id), netns, hosts, leases };
}

test("the next connect reaps what a SIGKILLed engine left", async () => {
  const sessionId = `crash-${process.pid}-${Date.now()}`;
  const child = spawn(process.execPath, ["--import", "tsx", fixture, sessionId, `tag-${Date.now()}`], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
      if (out.includes("\n")) resolve();
    });
    child.on("exit", (code) => reject(new Error(`engine exited early (${code}): ${out}`)));
  });
  assert.match(out, /^ready [0-9a-v]{13}\n$/);
  const cd = new ContainerdClient({ address: process.env.CONTAINERD_ADDRESS!, namespace: "svcd-test" });
  try {
    const before = await sessionObjects(cd, sessionId);
    assert.is(before.ids.length, 1, "the service container exists");
    assert.is(before.tasks.length, 1);
    assert.is(before.hosts.length, 1);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));

    const client = await connect({ namespace: "svcd-test" });
    await client.close();
    const after = await sessionObjects(cd, sessionId);
    assert.equal(after, { ids: [], tasks: [], netns: [], hosts: [], leases: [] });
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    cd.close();
  }
});

test.run();
