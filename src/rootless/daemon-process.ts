// Stopping a process that is not (or no longer) our child, and reading a daemon's log tail for error messages: the
// helpers managed-containerd.ts uses around the supervisor and containerd.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { CancelledError } from "../common/errors.js";
import { debug } from "../common/debug.js";
import { recordRunning, type PidRecord } from "./pid-file.js";

const log = debug("rootless");

/** Waits between polls; an abort becomes CancelledError. */
export async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (err) {
    throw new CancelledError("waiting for containerd cancelled", { cause: signal?.reason ?? err });
  }
}

/** The last lines the daemon logged since byte `from` (at most 4 KiB, 20 lines). */
export function logTail(path: string, from: number): string {
  try {
    const fd = openSync(path, "r");
    try {
      const size = fstatSync(fd).size;
      // A smaller file than `from` was rotated meanwhile (capped-log.ts): read the new one from its start.
      const start = Math.max(from > size ? 0 : from, size - 4096);
      const buf = Buffer.alloc(Math.max(0, size - start));
      readSync(fd, buf, 0, buf.length, start);
      const lines = buf.toString("utf8").trimEnd().split("\n").slice(-20);
      return lines.join("\n") || "(empty)";
    } finally {
      closeSync(fd);
    }
  } catch {
    return "(no log)";
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. Never signals a reused pid. */
export async function terminate(record: PidRecord, graceMs: number, signal?: AbortSignal): Promise<void> {
  const send = (sig: NodeJS.Signals) => {
    if (!recordRunning(record)) return;
    try {
      process.kill(record.pid, sig);
    } catch {
      // already gone
    }
  };
  send("SIGTERM");
  if (await waitGone(record, graceMs, signal)) return;
  log("containerd pid %d ignored SIGTERM for %d ms; killing", record.pid, graceMs);
  send("SIGKILL");
  await waitGone(record, 5000, signal);
}

/** Polls until the process is gone (it is not our child, so no exit event reaches us). */
async function waitGone(record: PidRecord, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (recordRunning(record)) {
    if (Date.now() >= deadline) return false;
    await pause(20, signal);
  }
  return true;
}
