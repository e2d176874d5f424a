// Machine-wide allocation of the hub's reserved addresses (host-service listeners), shared by every engine process.
//
// Layout: <paths.ipamDir>/reserved/<ip>, created with O_EXCL, holding `<pid> <start time>` of the engine that owns the
// address. Invariant: an address is in use by at most one live engine. A fresh address is claimed with O_EXCL; a file
// whose owner is gone is stale and is taken over only under <dir>/.lock (flock), so two engines never both take it.
import { mkdir, open, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { EngineUnavailableError } from "../../common/errors.js";
import { OWNER } from "../../common/labels.js";
import { ownerAlive, processStartTime } from "../../common/owner.js";
import type { Paths } from "../../common/paths.js";
import { withFileLock } from "../../common/file-lock.js";
import type { ProcessRunner } from "../../common/process-runner.js";
import type { HubNetwork } from "./hub-network.js";

/** A reserved address held by this process; `release()` is idempotent. */
export interface ReservedAddress {
  ip: string;
  release(): Promise<void>;
}

const note = () => `${process.pid} ${processStartTime(process.pid) ?? "0"}\n`;

export async function allocateReservedAddress(
  paths: Paths,
  runner: ProcessRunner,
  hub: Pick<HubNetwork, "reservedAddress" | "reservedCount">,
): Promise<ReservedAddress> {
  const dir = join(paths.ipamDir, "reserved");
  await mkdir(dir, { recursive: true });
  for (let n = 0; n < hub.reservedCount; n++) {
    const ip = hub.reservedAddress(n);
    const file = join(dir, ip);
    if (await claim(file, () => withFileLock(join(dir, ".lock"), { runner }, () => takeOverStale(file)))) {
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

async function claim(file: string, takeOver: () => Promise<boolean>): Promise<boolean> {
  try {
    const handle = await open(file, "wx", 0o644);
    await handle.writeFile(note());
    await handle.close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  return (await isStale(file)) ? takeOver() : false;
}

async function isStale(file: string): Promise<boolean> {
  const [pid, startTime] = (await readFile(file, "utf8").catch(() => "")).trim().split(" ");
  return !ownerAlive({ [OWNER.pid]: pid ?? "", [OWNER.startTime]: startTime ?? "" });
}

/** Under the lock: still stale → ours. */
async function takeOverStale(file: string): Promise<boolean> {
  if (!(await isStale(file))) return false;
  await writeFile(file, note());
  return true;
}
