// Reaps what engine processes that died (SIGKILL, OOM, power loss) left behind, found by the ownership labels and
// hosts-store records every engine writes: tasks, containers and their snapshots, leases, half-made snapshots, task
// FIFO dirs, container netns files, IP leases and hosts files. Objects of live owners are never touched. Best effort:
// one object that cannot be removed is logged and retried by the next connect.
//
// Bounded: a run stops taking objects after `maxObjects` or `deadlineMs` and says `more`, so a connect after a crash
// that left thousands of objects stays fast; the caller continues in the background (reapInBackground). Listing asks
// containerd for owned objects only (label filters), so the cost of a run does not grow with the build cache.
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

export interface ReapLimits {
  /** Objects removed per run at most (default: no limit). */
  maxObjects?: number | undefined;
  /** Stop taking objects after this time, ms since the epoch (default: no limit). */
  deadlineMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface ReapReport {
  containers: string[];
  leases: string[];
  snapshots: string[];
  networks: string[];
  /** A limit cut the run short: dead owners' objects remain. */
  more: boolean;
}

const KILL_WAIT_MS = 5_000;
const OWNED = `labels."${OWNER.pid}"`;

export async function reapDeadOwners(deps: ReaperDeps, limits: ReapLimits = {}): Promise<ReapReport> {
  const report: ReapReport = { containers: [], leases: [], snapshots: [], networks: [], more: false };
  const { client, paths, snapshotter } = deps;
  const alive = liveness();
  let taken = 0;
  // True when the run may take one more object; otherwise records that some were left.
  const mayTake = () => {
    const ok = taken < (limits.maxObjects ?? Infinity) && !limits.signal?.aborted && (limits.deadlineMs === undefined || Date.now() < limits.deadlineMs);
    if (ok) taken++;
    else report.more = true;
    return ok;
  };
  const dead = (labels: Record<string, string> | undefined) => labels?.[OWNER.pid] !== undefined && !alive(labels);

  const { containers } = await client.containers.list({ filters: [OWNED] });
  const deadContainers = containers.filter((c) => dead(c.labels));
  const batch = deadContainers.filter(() => mayTake());
  // SIGKILL every task of the batch first, then wait for all of them together: one KILL_WAIT_MS at most, not one each.
  await Promise.all(batch.map((c) => ignoreNotFound(client.tasks.kill({ container_id: c.id, signal: 9, all: true })).catch(() => {})));
  await Promise.race([
    Promise.all(batch.map((c) => ignoreNotFound(client.tasks.wait({ container_id: c.id })).catch(() => {}))),
    new Promise((r) => setTimeout(r, KILL_WAIT_MS).unref()),
  ]);
  for (const c of batch) {
    await attempt(`container ${c.id}`, async () => {
      await ignoreNotFound(client.tasks.delete({ container_id: c.id }));
      await ignoreNotFound(client.containers.delete({ id: c.id }));
      if (c.snapshot_key) await ignoreNotFound(client.snapshots.remove({ snapshotter: c.snapshotter || snapshotter, key: c.snapshot_key }));
      await rm(paths.fifoDir(c.id), { recursive: true, force: true });
      report.containers.push(c.id);
    });
  }

  const { leases } = await client.leases.list({ filters: [OWNED] });
  for (const l of leases) {
    if (!dead(l.labels) || !mayTake()) continue;
    await attempt(`lease ${l.id}`, async () => {
      await ignoreNotFound(client.leases.delete({ id: l.id }));
      report.leases.push(l.id);
    });
  }

  for await (const page of client.snapshots.list({ snapshotter, filters: [`kind==active,${OWNED}`] })) {
    for (const info of page.info) {
      if (info.kind !== "ACTIVE" || !dead(info.labels) || !mayTake()) continue;
      await attempt(`snapshot ${info.name}`, async () => {
        await ignoreNotFound(client.snapshots.remove({ snapshotter, key: info.name }));
        report.snapshots.push(info.name);
      });
    }
  }

  const records = (await deps.store.list()).filter(
    (r) => r.ownerPid !== undefined && !alive({ [OWNER.pid]: String(r.ownerPid), [OWNER.startTime]: r.ownerStartTime ?? "" }),
  );
  const deadRecords = records.filter(() => mayTake());
  if (deadRecords.length > 0) {
    const hub = await deps.hub();
    for (const r of deadRecords) {
      await attempt(`network of ${r.id}`, async () => {
        await hub.removeContainer(r.id);
        await deps.store.remove(r.id);
        report.networks.push(r.id);
      });
    }
  }
  if (reaped(report) > 0 || report.more) log("reaped %j", report);
  return report;
}

/** Runs bounded passes until nothing is left or the signal aborts; never throws. */
export async function reapInBackground(deps: ReaperDeps, pass: { maxObjects: number; budgetMs: number }, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      const report = await reapDeadOwners(deps, { maxObjects: pass.maxObjects, deadlineMs: Date.now() + pass.budgetMs, signal });
      if (!report.more || reaped(report) === 0) return; // done, or stuck on objects the next connect retries
    } catch (err) {
      log("background reaping stopped: %s", err);
      return;
    }
  }
}

function reaped(r: ReapReport): number {
  return r.containers.length + r.leases.length + r.snapshots.length + r.networks.length;
}

/** ownerAlive, asked once per owner in a run (/proc reads, not per object). */
function liveness(): (labels: Record<string, string>) => boolean {
  const seen = new Map<string, boolean>();
  return (labels) => {
    const id = `${labels[OWNER.pid]} ${labels[OWNER.startTime]}`;
    let alive = seen.get(id);
    if (alive === undefined) seen.set(id, (alive = ownerAlive(labels)));
    return alive;
  };
}

async function attempt(what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    log("could not reap %s: %s", what, err);
  }
}
