// How long each unary containerd call may take before it fails with TimeoutError: a hung or half-dead containerd
// must never hold a caller for ever. Pure policy, applied by Connection.unary when the caller gives no timeoutMs.
import { InvalidArgumentError } from "../common/errors.js";

/** Deadline of an ordinary metadata call (list, get, create a record, kill…). */
export const DEFAULT_CALL_TIMEOUT_MS = 30_000;

/** Deadline of calls that do real work on disk or start/stop a shim: unpacking a layer, committing a rootfs. */
export const SLOW_CALL_TIMEOUT_MS = 10 * 60_000;

/** Calls that copy or walk a whole filesystem, start or reap a shim, or wait for garbage collection. */
const SLOW_CALLS: ReadonlySet<string> = new Set([
  "Diff.Apply",
  "Diff.Diff",
  "Snapshots.Commit",
  "Snapshots.Prepare",
  "Snapshots.View",
  "Snapshots.Remove",
  "Snapshots.Usage",
  "Snapshots.Cleanup",
  "Tasks.Create",
  "Tasks.Start",
  "Tasks.Delete",
  "Tasks.DeleteProcess",
  "Tasks.Exec",
  "Tasks.Checkpoint",
  "Leases.Delete",
  "Content.Delete",
  "Images.Delete",
  "Containers.Delete",
]);

/** Calls that stay open until something happens (Tasks.Wait: until the process exits): no deadline of their own. */
const OPEN_ENDED_CALLS: ReadonlySet<string> = new Set(["Tasks.Wait"]);

/** Overrides of the two default deadlines (a client's option; tests shorten them). */
export interface CallDeadlines {
  defaultMs?: number;
  slowMs?: number;
}

/** Throws InvalidArgumentError unless both overrides are positive finite numbers. */
export function checkDeadlines(d: CallDeadlines | undefined): void {
  for (const [k, v] of Object.entries(d ?? {})) {
    if (v !== undefined && !(typeof v === "number" && v > 0 && Number.isFinite(v))) {
      throw new InvalidArgumentError(`deadlines.${k} must be a positive number of milliseconds, got ${String(v)}`);
    }
  }
}

/**
 * The deadline (ms from now) for call `name` ("Service.Method"): the caller's `timeoutMs` when given, else the
 * policy above; undefined for open-ended calls without one.
 */
export function callTimeoutMs(name: string, timeoutMs: number | undefined, deadlines: CallDeadlines = {}): number | undefined {
  if (timeoutMs !== undefined) {
    if (!(typeof timeoutMs === "number" && timeoutMs > 0 && Number.isFinite(timeoutMs))) {
      throw new InvalidArgumentError(`timeoutMs of containerd ${name} must be a positive number of milliseconds, got ${String(timeoutMs)}`);
    }
    return timeoutMs;
  }
  if (OPEN_ENDED_CALLS.has(name)) return undefined;
  return SLOW_CALLS.has(name) ? (deadlines.slowMs ?? SLOW_CALL_TIMEOUT_MS) : (deadlines.defaultMs ?? DEFAULT_CALL_TIMEOUT_MS);
}
