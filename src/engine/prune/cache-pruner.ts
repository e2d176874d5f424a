// Removes build-cache steps (and so their stored outputs) by least-recent use, without ever taking one a live
// session uses, in any engine process.
//
// A step is never deleted directly. The pruner takes its GC root label away, re-reads the sessions' in-use marks
// and gives the root back to any step marked meanwhile, then runs containerd's garbage collection synchronously:
// containerd removes, in one transaction, what nothing references any more — the unrooted steps without children,
// and their stdout/stderr blobs. Steps that survived (a child appeared, a lease holds them) get their root back. A
// session marks a key before it looks the step up, and a step found without its root is re-rooted (or rebuilt) by
// the session itself (build-cache.ts): whichever side acts second sees the other. A pruner that dies half-way leaves
// unrooted steps, which the next GC removes or the next session that wants them re-roots.
import { randomBytes } from "node:crypto";
import { debug } from "../../common/debug.js";
import { hasCode } from "../../common/errors.js";
import { CACHE, GC } from "../../common/labels.js";
import type { ContainerdClient } from "../../containerd/index.js";
import { liveInUseKeys } from "./in-use.js";
import { selectByPolicy, selectForPrune, type CacheEntry, type GcPolicy, type PruneCriteria } from "./selection.js";

const log = debug("engine");

export interface CachePrunerDeps {
  client: ContainerdClient;
  snapshotter: string;
  /** Where sessions keep their in-use marks (Paths.cacheInUseDir). */
  inUseDir: string;
  /** Labels of the short lease that triggers the GC (ownership, so a reaper removes it after a crash). */
  leaseLabels: Record<string, string>;
  now?: () => number;
}

/** What to remove: explicit criteria (client.prune) or the automatic policy. */
export type PruneTarget = { criteria: PruneCriteria } | { policy: GcPolicy };

export interface PruneLimits {
  /** Stops taking more steps (what was taken is still finished cleanly). */
  signal?: AbortSignal | undefined;
  /** Stops taking more steps after this time (ms since the epoch). */
  deadlineMs?: number | undefined;
  /** At most this many steps per run; the rest is left for the next. */
  maxRemovals?: number | undefined;
}

export interface PruneRun {
  removed: number;
  freedBytes: number;
  /** The selection was cut short by a limit. */
  more: boolean;
}

export class CachePruner {
  readonly #deps: CachePrunerDeps;
  readonly #now: () => number;

  constructor(deps: CachePrunerDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  async run(target: PruneTarget, limits: PruneLimits = {}): Promise<PruneRun> {
    const entries = await this.#entries();
    const now = this.#now();
    const selection = "policy" in target ? selectByPolicy(entries, target.policy, now) : selectForPrune(entries, target.criteria, now);
    if (selection.keys.length === 0) return { removed: 0, freedBytes: 0, more: false };
    const bytesOf = new Map(entries.map((e) => [e.key, e.bytes]));
    const max = limits.maxRemovals ?? Infinity;
    const taken: string[] = [];
    for (const key of selection.keys) {
      if (taken.length >= max || limits.signal?.aborted || (limits.deadlineMs !== undefined && this.#now() > limits.deadlineMs)) break;
      if (await this.#setRoot(key, false)) taken.push(key);
    }
    const more = taken.length < selection.keys.length;
    if (taken.length === 0) return { removed: 0, freedBytes: 0, more };
    // A session may have marked one of them between the first read of the marks and the unrooting.
    const inUse = await liveInUseKeys(this.#deps.inUseDir);
    for (const key of taken) if (inUse.has(key)) await this.#setRoot(key, true);
    await this.#collectGarbage();
    const present = new Set((await this.#list(`labels."${CACHE.digest}"`)).map((i) => i.name));
    let removed = 0;
    let freedBytes = 0;
    for (const key of taken) {
      if (present.has(key)) {
        await this.#setRoot(key, true); // kept by a child or a lease: it stays a cache entry
        continue;
      }
      removed++;
      freedBytes += bytesOf.get(key) ?? 0;
    }
    log("pruned %d build-cache steps (%d bytes)%s", removed, freedBytes, more ? ", more left" : "");
    return { removed, freedBytes, more };
  }

  /** Every committed build-cache step, with what pins it. */
  async #entries(): Promise<CacheEntry[]> {
    const all = await this.#list();
    const steps = all.filter((i) => i.kind === "COMMITTED" && i.labels[CACHE.digest] !== undefined);
    const isStep = new Set(steps.map((i) => i.name));
    // A child that is not a step (a container's rootfs, a read view, another tool's snapshot) holds its parent.
    const heldByOther = new Set(all.filter((i) => !isStep.has(i.name) && i.parent).map((i) => i.parent));
    const inUse = await liveInUseKeys(this.#deps.inUseDir);
    const entries: CacheEntry[] = [];
    for (const info of steps) {
      entries.push({
        key: info.name,
        parent: info.parent,
        bytes: (await this.#size(info)) + (Number(info.labels[CACHE.outputBytes]) || 0),
        lastUsedMs: Date.parse(info.labels[CACHE.lastUsed] ?? "") || toMs(info.created_at) || 0,
        pinned: inUse.has(info.name) || heldByOther.has(info.name),
      });
    }
    return entries;
  }

  /** The recorded size, or (for steps committed before sizes were recorded) containerd's stored usage. */
  async #size(info: SnapshotInfo): Promise<number> {
    const recorded = Number(info.labels[CACHE.size]);
    if (Number.isSafeInteger(recorded) && recorded >= 0 && info.labels[CACHE.size] !== "") return recorded;
    try {
      return Number((await this.#deps.client.snapshots.usage({ snapshotter: this.#deps.snapshotter, key: info.name })).size) || 0;
    } catch {
      return 0;
    }
  }

  /** Sets or clears a step's GC root; false when the step is gone. */
  async #setRoot(key: string, root: boolean): Promise<boolean> {
    try {
      await this.#deps.client.snapshots.update({
        snapshotter: this.#deps.snapshotter,
        info: { name: key, labels: root ? { [GC.root]: new Date(this.#now()).toISOString() } : {} },
        update_mask: { paths: [`labels.${GC.root}`] },
      });
      return true;
    } catch (err) {
      if (hasCode(err, "NOT_FOUND")) return false;
      throw err;
    }
  }

  /** Runs containerd's GC and waits for it: deleting a lease with `sync` does exactly that. */
  async #collectGarbage(): Promise<void> {
    const id = `svcd-gc-${process.pid}-${randomBytes(4).toString("hex")}`;
    await this.#deps.client.leases.create({ id, labels: this.#deps.leaseLabels });
    await this.#deps.client.leases.delete({ id, sync: true });
  }

  async #list(filter?: string): Promise<SnapshotInfo[]> {
    const out: SnapshotInfo[] = [];
    for await (const page of this.#deps.client.snapshots.list({ snapshotter: this.#deps.snapshotter, filters: filter ? [filter] : [] })) {
      for (const i of page.info) out.push({ name: i.name, parent: i.parent, kind: i.kind, labels: i.labels, created_at: i.created_at });
    }
    return out;
  }
}

interface SnapshotInfo {
  name: string;
  parent: string;
  kind: string;
  labels: Record<string, string>;
  created_at: { seconds: number | string | { toString(): string }; nanos: number } | null;
}

function toMs(t: SnapshotInfo["created_at"]): number {
  return t ? Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6) : 0;
}
