// Reaps what engine processes that died (SIGKILL, OOM, power loss) left behind, found by the ownership labels and
// hosts-store records every engine writes: tasks, containers and their snapshots, leases, half-made snapshots, task
// FIFO dirs, container netns files, IP leases and hosts files. Objects of live owners are never touched. Best effort:
// one object that cannot be removed is logged and retried by the next connect.
import { rm } from "node:fs/promises";
import { debug } from "../common/debug.js";
import { ignoreNotFound } from "../common/errors.js";
import { ownerAlive } from "../common/owner.js";
import type { Paths } from "../common/paths.js";
import { OWNER } from "../common/labels.js";
import type { ContainerdClient } from "../containerd/index.js";
import type { HostsStore, HubNetwork } from "../network/index.js";

const log = debug("reaper");

export interface ReaperDeps {
  client: ContainerdClient;
  paths: Paths;
  snapshotter: string;
  store: HostsStore;
  /** Joins the hub (only when a dead owner left network state). */
  hub: () => Promise<HubNetwork>;
}

export interface ReapReport {
  containers: string[];
  leases: string[];
  snapshots: string[];
  networks: string[];
}

const KILL_WAIT_MS = 5_000;

export async function reapDeadOwners(deps: ReaperDeps): Promise<ReapReport> {
  const report: ReapReport = { containers: [], leases: [], snapshots: [], networks: [] };
  const { client, paths, snapshotter } = deps;
  const owned = (labels: Record<string, string> | undefined) => labels?.[OWNER.pid] !== undefined;

  const { containers } = await client.containers.list({});
  for (const c of containers) {
    if (!owned(c.labels) || ownerAlive(c.labels)) continue;
    await attempt(`container ${c.id}`, async () => {
      await ignoreNotFound(client.tasks.kill({ container_id: c.id, signal: 9, all: true }));
      await Promise.race([ignoreNotFound(client.tasks.wait({ container_id: c.id })), new Promise((r) => setTimeout(r, KILL_WAIT_MS).unref())]);
      await ignoreNotFound(client.tasks.delete({ container_id: c.id }));
      await ignoreNotFound(client.containers.delete({ id: c.id }));
      if (c.snapshot_key) await ignoreNotFound(client.snapshots.remove({ snapshotter: c.snapshotter || snapshotter, key: c.snapshot_key }));
      await rm(paths.fifoDir(c.id), { recursive: true, force: true });
      report.containers.push(c.id);
    });
  }

  const { leases } = await client.leases.list({});
  for (const l of leases) {
    if (!owned(l.labels) || ownerAlive(l.labels)) continue;
    await attempt(`lease ${l.id}`, async () => {
      await ignoreNotFound(client.leases.delete({ id: l.id }));
      report.leases.push(l.id);
    });
  }

  for await (const page of client.snapshots.list({ snapshotter })) {
    for (const info of page.info) {
      if (info.kind !== "ACTIVE" || !owned(info.labels) || ownerAlive(info.labels)) continue;
      await attempt(`snapshot ${info.name}`, async () => {
        await ignoreNotFound(client.snapshots.remove({ snapshotter, key: info.name }));
        report.snapshots.push(info.name);
      });
    }
  }

  const dead = (await deps.store.list()).filter(
    (r) => r.ownerPid !== undefined && !ownerAlive({ [OWNER.pid]: String(r.ownerPid), [OWNER.startTime]: r.ownerStartTime ?? "" }),
  );
  if (dead.length > 0) {
    const hub = await deps.hub();
    for (const r of dead) {
      await attempt(`network of ${r.id}`, async () => {
        await hub.removeContainer(r.id);
        await deps.store.remove(r.id);
        report.networks.push(r.id);
      });
    }
  }
  if (report.containers.length + report.leases.length + report.snapshots.length + report.networks.length > 0) log("reaped %j", report);
  return report;
}

async function attempt(what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    log("could not reap %s: %s", what, err);
  }
}
