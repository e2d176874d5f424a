// Machine-wide allocation of the hub's reserved addresses (host-service listeners), shared by every engine process.
//
// Layout: <paths.ipamDir>/reserved/<ip>, holding `<pid> <start time>\n` of the engine that owns the address.
// Invariant: an address is in use by at most one live engine, and a claim file is complete or absent — it is written
// whole under a temporary name (.claim-<pid>-<random>) and then link(2)ed into place (fails if the address is taken)
// or, when taking over a stale claim, rename(2)d over it. So no reader ever sees a half-written claim. A claim whose
// owner is gone is stale and is taken over only under <dir>/.lock (flock), so two engines never both take it. A file
// that names no owner (an older svcd wrote the name first, then the note) is stale only once it is a minute old.
import { link, open, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { EngineUnavailableError } from "../../common/errors.js";
import { OWNER } from "../../common/labels.js";
import { ownerAlive, processStartTime } from "../../common/owner.js";
import type { Paths } from "../../common/paths.js";
import { ensurePrivateDir, PRIVATE_FILE_MODE } from "../../common/private-dir.js";
import { withFileLock } from "../../common/file-lock.js";
import type { ProcessRunner } from "../../common/process-runner.js";
import { readBounded } from "../../common/bounded-read.js";
import type { HubNetwork } from "./hub-network.js";

/** A reserved address held by this process; `release()` is idempotent. */
export interface ReservedAddress {
  ip: string;
  release(): Promise<void>;
}

/** How long a claim file naming no owner may be someone's claim in progress (an older svcd's open-then-write). */
export const UNNAMED_CLAIM_GRACE_MS = 60_000;
/** A claim note is a few dozen bytes; anything longer is not one. */
const CLAIM_READ_LIMIT = 256;
const CLAIM = /^(\d+) (\d+)\n$/;

const note = () => `${process.pid} ${processStartTime(process.pid) ?? "0"}\n`;

/** The directory of claims (also what the leak check lists). */
export function reservedDir(paths: Paths): string {
  return join(paths.ipamDir, "reserved");
}

export async function allocateReservedAddress(
  paths: Paths,
  runner: ProcessRunner,
  hub: Pick<HubNetwork, "reservedAddress" | "reservedCount">,
): Promise<ReservedAddress> {
  const dir = await ensurePrivateDir(paths, reservedDir(paths));
  for (let n = 0; n < hub.reservedCount; n++) {
    const ip = hub.reservedAddress(n);
    const file = join(dir, ip);
    if (await claim(dir, file, () => withFileLock(join(dir, ".lock"), { runner }, () => takeOverStale(dir, file)))) {
      let released = false;
      return {
        ip,
        release: async () => {
          if (released) return;
          released = true;
          await rm(file, { force: true });
        },
      };
    }
  }
  throw new EngineUnavailableError(`all ${hub.reservedCount} host-service addresses of the hub are in use: stop some host services`);
}

/** A complete note under a temporary name in `dir`; the caller links or renames it into place. */
async function writeNote(dir: string): Promise<string> {
  const tmp = join(dir, `.claim-${process.pid}-${randomBytes(6).toString("hex")}`);
  const handle = await open(tmp, "wx", PRIVATE_FILE_MODE);
  try {
    await handle.writeFile(note());
    await handle.close();
  } catch (err) {
    await handle.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
  return tmp;
}

async function claim(dir: string, file: string, takeOver: () => Promise<boolean>): Promise<boolean> {
  const tmp = await writeNote(dir);
  try {
    await link(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    await rm(tmp, { force: true });
  }
  return (await isStale(file)) ? takeOver() : false;
}

async function isStale(file: string): Promise<boolean> {
  let text: string | undefined;
  try {
    text = await readBounded(file, CLAIM_READ_LIMIT);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false; // released meanwhile: the next claim retries
    throw err;
  }
  const m = text === undefined ? null : CLAIM.exec(text);
  if (!m) {
    const age = await stat(file).then((s) => Date.now() - s.mtimeMs, () => 0);
    return age > UNNAMED_CLAIM_GRACE_MS;
  }
  return !ownerAlive({ [OWNER.pid]: m[1]!, [OWNER.startTime]: m[2]! });
}

/** Under the lock: still stale → ours, replaced whole by rename. */
async function takeOverStale(dir: string, file: string): Promise<boolean> {
  if (!(await isStale(file))) return false;
  const tmp = await writeNote(dir);
  try {
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return true;
}
