// The pid record of the machine-wide slirp4netns process: which process runs egress for the hub, with what settings.
//
// Layout: one JSON file (Paths.egressPidFile) `{"pid":…,"startTime":"…","cidr":"…","tap":"…","mtu":…}`, written
// after slirp4netns reported ready, removed when it is stopped. Lock: only read or written under Paths.hubSetupLock.
// Invariant: a record whose process is gone, a zombie, or a reused pid (start time differs) is stale — the next
// hub attach or teardown stops what is left and deletes it, so a SIGKILLed engine never leaves slirp running forever.
import { readFileSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import type { EgressSettings } from "./egress-plan.js";

/** One slirp4netns process and the settings it runs with. */
export interface SlirpRecord extends EgressSettings {
  pid: number;
  /** Clock ticks since boot at which it started (/proc/<pid>/stat field 22): tells it from a reused pid. */
  startTime: string;
}

/** Parses a record's text; undefined for anything malformed (a crash mid-write, a hand edit). */
export function parseSlirpRecord(text: string): SlirpRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const r = value as Partial<Record<keyof SlirpRecord, unknown>> | null;
  if (typeof r !== "object" || r === null) return undefined;
  const { pid, startTime, cidr, tap, mtu } = r;
  if (typeof pid !== "number" || !Number.isInteger(pid) || pid <= 1) return undefined;
  if (typeof startTime !== "string" || !/^[0-9]+$/.test(startTime)) return undefined;
  if (typeof cidr !== "string" || typeof tap !== "string" || typeof mtu !== "number") return undefined;
  return { pid, startTime, cidr, tap, mtu };
}

/** Renders a record for the pid file. */
export function renderSlirpRecord(record: SlirpRecord): string {
  const { pid, startTime, cidr, tap, mtu } = record;
  return JSON.stringify({ pid, startTime, cidr, tap, mtu }) + "\n";
}

/** The record at `path`, or undefined when there is none or it is unreadable. */
export async function readSlirpRecord(path: string): Promise<SlirpRecord | undefined> {
  const text = await readFile(path, "utf8").catch(() => undefined);
  return text === undefined ? undefined : parseSlirpRecord(text);
}

/** Writes the record (mode 0600). */
export async function writeSlirpRecord(path: string, record: SlirpRecord): Promise<void> {
  await writeFile(path, renderSlirpRecord(record), { mode: 0o600 });
}

/** Deletes the record; idempotent. */
export async function removeSlirpRecord(path: string): Promise<void> {
  await rm(path, { force: true });
}

/** The state letter and start time of a process from /proc, or undefined when it does not exist. */
export function procStat(pid: number): { state: string; startTime: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces and parentheses: the fields after it start past the last ')'.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { state: rest[0] ?? "", startTime: rest[19] ?? "" };
  } catch {
    return undefined;
  }
}

/** True when the recorded process still runs: same pid, same start time, not a zombie. */
export function recordAlive(record: Pick<SlirpRecord, "pid" | "startTime">): boolean {
  const stat = procStat(record.pid);
  return stat !== undefined && stat.startTime === record.startTime && stat.state !== "Z" && stat.state !== "X";
}
