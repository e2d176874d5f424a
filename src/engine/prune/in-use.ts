// Which build-cache steps live sessions use, across every engine process of the machine.
//
// Layout: <runtime>/cache-in-use/<pid>-<start time>-<session hash>, one chain key per line, appended by that session
// (no lock, no fsync: a tmpfs write is visible to every reader once the syscall returns) and removed at its close.
// Invariant: a session marks a key *before* it looks the step up, and a pruner reads the marks *after* it took the
// step's GC root away; so either the pruner sees the mark (and gives the root back) or the session sees the root
// gone (and takes it back itself, or rebuilds). See cache-pruner.ts. The pid and start time in the name tell a live
// owner from a dead or reused pid; a dead owner's file is removed by the next reader.
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { debug } from "../../common/debug.js";
import { OWNER } from "../../common/labels.js";
import { ownerAlive, type Owner } from "../../common/owner.js";
import { hostHash } from "../../definition/index.js";

const log = debug("engine");
const NAME = /^(\d+)-(\d+)-([0-9a-v]+)$/;

/** The marks of one session. */
export class InUseMarks {
  readonly #path: string;
  readonly #dir: string;
  #fd: number | undefined;
  #closed = false;
  #broken = false;

  constructor(dir: string, owner: Owner) {
    this.#dir = dir;
    this.#path = join(dir, `${owner.pid}-${owner.startTime}-${hostHash(owner.sessionId)}`);
  }

  /** Records that this session uses the step (a few microseconds: one write(2) to an open tmpfs file). */
  mark(key: string): void {
    if (this.#closed || this.#broken) return;
    try {
      if (this.#fd === undefined) {
        mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
        this.#fd = openSync(this.#path, "a", 0o600);
      }
      writeSync(this.#fd, key + "\n");
    } catch (err) {
      // Builds go on; only the protection from concurrent pruners is lost (a pruned parent is then rebuilt or fails).
      this.#broken = true;
      log("cannot record in-use build-cache steps in %s: %s", this.#path, err);
    }
  }

  /** The session ended: nothing of it is in use any more. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
    await rm(this.#path, { force: true });
  }
}

/** Every key a live session marked; files of dead owners are removed on the way. */
export async function liveInUseKeys(dir: string): Promise<Set<string>> {
  const keys = new Set<string>();
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const m = NAME.exec(name);
    const path = join(dir, name);
    if (!m || !ownerAlive({ [OWNER.pid]: m[1]!, [OWNER.startTime]: m[2]! })) {
      await rm(path, { force: true });
      continue;
    }
    const text = await readFile(path, "utf8").catch(() => "");
    for (const line of text.split("\n")) if (line) keys.add(line);
  }
  return keys;
}
