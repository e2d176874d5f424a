// Who created a containerd object: the session, the engine process's pid and that process's start time. A later
// engine reaps objects whose owner is gone; the start time tells a live owner from a reused pid.
import { readFileSync } from "node:fs";
import { OWNER } from "./labels.js";

export interface Owner {
  sessionId: string;
  pid: number;
  /** Clock ticks since boot at which the process started (field 22 of /proc/<pid>/stat). */
  startTime: string;
}

/** The start time of a process, or undefined when it does not exist. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: fields after it start past the last ')'.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return rest[19];
  } catch {
    return undefined;
  }
}

export function currentOwner(sessionId: string): Owner {
  return { sessionId, pid: process.pid, startTime: processStartTime(process.pid) ?? "0" };
}

export function ownerLabels(owner: Owner): Record<string, string> {
  return { [OWNER.session]: owner.sessionId, [OWNER.pid]: String(owner.pid), [OWNER.startTime]: owner.startTime };
}

/** True when the owner recorded in these labels is still running (the same process, not a reused pid). */
export function ownerAlive(labels: Record<string, string>): boolean {
  const pid = Number(labels[OWNER.pid]);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  return processStartTime(pid) === labels[OWNER.startTime];
}
