// Embedded engines do not share sessions (DESIGN.md §2): a session id held by another live engine of this user is
// refused with ALREADY_EXISTS. The claim is a flock(2) on a file named after the id, held for the session's life —
// the kernel drops it when the holder dies, so a crashed engine never leaves a stale claim. The daemon claims each
// of its sessions the same way: an embedded engine cannot take a session the daemon serves, nor the reverse.
import { createHash } from "node:crypto";
import { join } from "node:path";
import { AlreadyExistsError } from "../common/errors.js";
import { tryAcquireFileLock, type HeldLock } from "../common/file-lock.js";
import type { Paths } from "../common/paths.js";
import type { ProcessRunner } from "../common/process-runner.js";

export async function claimSession(paths: Paths, runner: ProcessRunner, sessionId: string, signal?: AbortSignal): Promise<HeldLock> {
  const file = join(paths.sessionLocksDir, `${createHash("sha256").update(sessionId).digest("hex")}.lock`);
  const held = await tryAcquireFileLock(file, { runner, signal });
  if (!held) {
    throw new AlreadyExistsError(
      `session ${JSON.stringify(sessionId)} is held by another live svcd engine of this user: embedded engines do not share sessions — ` +
        `pick another sessionId, or share the session through svcd's daemon (connect({ engine: "daemon" }) in every process)`,
    );
  }
  return held;
}
