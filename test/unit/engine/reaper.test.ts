// The reaper's work per run is bounded: with many objects of a dead engine, one run takes at most maxObjects (and
// says more are left); background passes take the rest. Against a scripted containerd (no objects are real).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { OWNER } from "../../../src/common/labels.js";
import { processStartTime } from "../../../src/common/owner.js";
import type { ContainerdClient } from "../../../src/containerd/index.js";
import type { HostsStore } from "../../../src/network/index.js";
import { Paths } from "../../../src/common/paths.js";
import { reapDeadOwners, reapInBackground, type ReaperDeps } from "../../../src/engine/reaper.js";

// A pid that existed and exited: its objects belong to a dead owner.
const deadPid = spawnSync("true").pid!;
const dead = { [OWNER.pid]: String(deadPid), [OWNER.startTime]: "1" };
const live = { [OWNER.pid]: String(process.pid), [OWNER.startTime]: processStartTime(process.pid)! };

function deps(leaseCount: number) {
  const leases = new Map<string, Record<string, string>>();
  for (let i = 0; i < leaseCount; i++) leases.set(`dead-${i}`, dead);
  leases.set("mine", live);
  const client = {
    containers: { list: async () => ({ containers: [] }) },
    tasks: {},
    leases: {
      list: async () => ({ leases: [...leases].map(([id, labels]) => ({ id, labels })) }),
      delete: async ({ id }: { id: string }) => void leases.delete(id),
    },
    snapshots: { list: async function* () {} },
  };
  const store = { list: async () => [] };
  const d: ReaperDeps = {
    client: client as unknown as ContainerdClient,
    paths: new Paths({ state: "/nonexistent/state", runtime: "/nonexistent/run" }),
    snapshotter: "overlayfs",
    store: store as unknown as HostsStore,
    hub: () => Promise.reject(new Error("not needed")),
  };
  return { d, leases };
}

test("one run takes at most maxObjects and says more are left; live owners' objects are kept", async () => {
  const { d, leases } = deps(100);
  const report = await reapDeadOwners(d, { maxObjects: 10 });
  assert.is(report.leases.length, 10);
  assert.ok(report.more);
  assert.is(leases.size, 91);
  const rest = await reapDeadOwners(d);
  assert.is(rest.leases.length, 90);
  assert.not.ok(rest.more);
  assert.equal([...leases.keys()], ["mine"]);
});

test("a past deadline takes nothing; background passes finish the work", async () => {
  const { d, leases } = deps(50);
  const none = await reapDeadOwners(d, { deadlineMs: Date.now() - 1 });
  assert.is(none.leases.length, 0);
  assert.ok(none.more);
  await reapInBackground(d, { maxObjects: 7, budgetMs: 60_000 }, new AbortController().signal);
  assert.equal([...leases.keys()], ["mine"]);
});

test.run();
