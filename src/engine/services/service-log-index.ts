// Which run was a service's last, per session: a container id ends in a random per-run part, so a stopped service's
// log cannot be named from its definition alone. Each run records itself when its log is created.
//
// Layout: <paths.serviceLogsDir>/<hostHash(session id)>-<hostHash(service digest)>.run, 0600, JSON
// `{ "id": <container id>, "hostname": …, "sessionId": … }`; the newest run of that service in that session wins.
// Written aside and renamed over, so a reader never sees half a record; no lock (a session's services start in one
// process: the engine, or the daemon, that holds the session's claim). Read by `logs()` of any later engine of the
// same session id; removed by pruneServiceLogs once the run's log files are gone.
import { randomBytes } from "node:crypto";
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { PRIVATE_FILE_MODE } from "../../common/private-dir.js";
import { hostHash } from "../../definition/index.js";

/** An index file's name. */
export const SERVICE_RUN_FILE = /^[0-9a-v]{13}-[0-9a-v]{13}\.run$/;

export interface ServiceRun {
  /** The run's container id: its log is `<id>.log` (and `<id>.log.1`). */
  id: string;
  hostname: string;
  sessionId: string;
}

export function runIndexPath(dir: string, sessionId: string, key: string): string {
  return join(dir, `${hostHash(sessionId)}-${hostHash(key)}.run`);
}

/** Records `run` as the last run of service `key` in its session; `dir` exists (the run's log was just created there). */
export function recordRun(dir: string, key: string, run: ServiceRun): void {
  const path = runIndexPath(dir, run.sessionId, key);
  const aside = `${path}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    writeFileSync(aside, JSON.stringify(run), { mode: PRIVATE_FILE_MODE, flag: "wx" });
    renameSync(aside, path);
  } catch (err) {
    rmSync(aside, { force: true });
    throw err;
  }
}

/** The last run of service `key` in session `sessionId`, if one was recorded. */
export async function lastRun(dir: string, sessionId: string, key: string): Promise<ServiceRun | undefined> {
  let text: string;
  try {
    text = await readFile(runIndexPath(dir, sessionId, key), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    const run = JSON.parse(text) as Partial<ServiceRun>;
    // A record is only ever written whole; anything else is not ours to trust as a path.
    if (typeof run.id === "string" && /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(run.id) && run.sessionId === sessionId) {
      return { id: run.id, hostname: String(run.hostname ?? ""), sessionId };
    }
  } catch {
    // unreadable: as if none
  }
  return undefined;
}

/** Removes index files whose run's log is gone (and aside files a crash left); best effort. */
export async function pruneRunIndex(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const path = join(dir, name);
    if (/\.run\.[0-9a-f]{8}\.tmp$/.test(name)) {
      // An aside file lives for one write; one older than a minute was left by a crash.
      const st = await stat(path).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > 60_000) await rm(path, { force: true });
      continue;
    }
    if (!SERVICE_RUN_FILE.test(name)) continue;
    // Read now, not from the listing: a run recorded meanwhile (its log made first) must stay.
    const id = await readFile(path, "utf8").then(idOf, () => undefined);
    const exists = (p: string) => stat(p).then(() => true, () => false);
    if (typeof id === "string" && ((await exists(join(dir, `${id}.log`))) || (await exists(join(dir, `${id}.log.1`))))) continue;
    await rm(path, { force: true });
  }
}

function idOf(text: string): unknown {
  try {
    return (JSON.parse(text) as { id?: unknown }).id;
  } catch {
    return undefined;
  }
}
