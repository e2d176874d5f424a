// The managed containerd's pidfile: which process serves the managed socket, identified by pid AND start time so a
// reused pid is never mistaken for it (and never signalled).
//
// Layout: `<pid> <start time>\n` (start time = clock ticks since boot, /proc/<pid>/stat field 22). Written by the
// process that started containerd while it holds the start lock; removed by stop and by stale recovery.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { processStartTime } from "../common/owner.js";

/** A process recorded in a pidfile. */
export interface PidRecord {
  pid: number;
  startTime: string;
}

/** Parses pidfile text; undefined when it is not `<pid> <start time>`. */
export function parsePidFile(text: string): PidRecord | undefined {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(text);
  if (!m) return undefined;
  const pid = Number(m[1]);
  if (!Number.isSafeInteger(pid) || pid <= 1) return undefined;
  return { pid, startTime: m[2]! };
}

/** Renders a pidfile line. */
export function formatPidFile(record: PidRecord): string {
  return `${record.pid} ${record.startTime}\n`;
}

/** Reads a pidfile; undefined when missing or malformed. */
export function readPidFile(path: string): PidRecord | undefined {
  try {
    return parsePidFile(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
}

/** Records a running process in a pidfile; undefined when the process is already gone. */
export function writePidFile(path: string, pid: number): PidRecord | undefined {
  const startTime = processStartTime(pid);
  if (startTime === undefined) return undefined;
  const record = { pid, startTime };
  writeFileSync(path, formatPidFile(record), { mode: 0o644 });
  return record;
}

/** Removes a pidfile if present. */
export function removePidFile(path: string): void {
  rmSync(path, { force: true });
}

/** True when the recorded process still runs (same pid and start time) and is the expected program. */
export function recordAlive(record: PidRecord, program: string): boolean {
  return recordRunning(record) && processName(record.pid) === program;
}

/** True while the recorded process runs: same pid and start time, and not a zombie awaiting its parent. */
export function recordRunning(record: PidRecord): boolean {
  if (processStartTime(record.pid) !== record.startTime) return false;
  try {
    const stat = readFileSync(`/proc/${record.pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** A process's command name (/proc/<pid>/comm: the executable's basename, at most 15 bytes); undefined when gone. */
export function processName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return undefined;
  }
}
