// Cache volumes: named directories under the engine's state dir, bind-mounted into containers, shared by every
// session and process on the machine. Their contents are not part of any snapshot or digest.
//
// Layout: <paths.cacheVolumesDir>/<name>/data (the volume), <name>/locked.lock (held exclusively for the whole run
// of a LOCKED user), <name>/private.lock (held by the PRIVATE user of `data`; a concurrent PRIVATE user gets a copy in
// <name>/private-<id>, removed when it finishes). Names are validated before they reach a path.
// Modes: <cacheVolumesDir> and <name> 0700 (no other local user reaches a volume); `data` 0755, the mode a container's
// non-root users see. Every mount is nosuid,nodev: a setuid binary or a device node written to a volume (by any
// container, of any session) grants nothing to the next container that mounts it.
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Paths } from "../common/paths.js";
import { ensurePrivateDir } from "../common/private-dir.js";
import { runChecked, type ProcessRunner } from "../common/process-runner.js";
import { assertVolumeName, type CacheSharing } from "../definition/index.js";
import { acquireFileLock, tryAcquireFileLock, type HeldLock } from "../common/file-lock.js";
import type { SpecMount } from "../runtime/index.js";
import type { PlannedMount } from "./plan.js";

/** A volume mounted for one run; `release()` frees its lock or copy. */
export interface MountedVolume {
  mount: SpecMount;
  release(): Promise<void>;
}

/** Options every cache-volume and host-directory mount carries. */
const NO_SUID_DEV = ["nosuid", "nodev"];

/** Where PRIVATE copies of a volume live: `<cacheVolumesDir>/<name>/private-<id>` (the leak check looks for them). */
export const PRIVATE_COPY_PREFIX = "private-";

export class CacheVolumes {
  readonly #paths: Paths;
  readonly #runner: ProcessRunner;

  constructor(paths: Paths, runner: ProcessRunner) {
    this.#paths = paths;
    this.#runner = runner;
  }

  /**
   * The OCI mounts for a step's or service's planned mounts: cache volumes prepared per their sharing mode, host
   * directories as bind mounts. When one fails, the volumes already prepared are released before it throws.
   */
  async mountPlanned(planned: readonly PlannedMount[], signal?: AbortSignal): Promise<{ mounts: SpecMount[]; volumes: MountedVolume[] }> {
    const mounts: SpecMount[] = [];
    const volumes: MountedVolume[] = [];
    try {
      for (const m of planned) {
        if (m.kind === "cache") {
          const mounted = await this.mount(m.volume, m.path, m.sharing, signal);
          volumes.push(mounted);
          mounts.push(mounted.mount);
        } else {
          mounts.push({ destination: m.path, type: "bind", source: m.directory.hostPath, options: ["rbind", m.readOnly ? "ro" : "rw", ...NO_SUID_DEV] });
        }
      }
    } catch (err) {
      for (const v of volumes) await v.release().catch(() => {});
      throw err;
    }
    return { mounts, volumes };
  }

  /** The host directory holding a volume's data (created on first use). */
  async dataDir(name: string): Promise<string> {
    assertVolumeName(name);
    const dir = join(this.#paths.cacheVolumesDir, name, "data");
    return ensurePrivateDir(this.#paths, dir, { mode: 0o755 });
  }

  /** Prepares a volume for one run at `destination`, honouring its sharing mode. */
  async mount(name: string, destination: string, sharing: CacheSharing, signal?: AbortSignal): Promise<MountedVolume> {
    const data = await this.dataDir(name);
    const root = join(this.#paths.cacheVolumesDir, name);
    const bind = (source: string): SpecMount => ({ destination, type: "bind", source, options: ["rbind", "rw", ...NO_SUID_DEV] });
    const lockOpts = { runner: this.#runner, signal, timeoutMs: 10 * 60_000 };
    switch (sharing) {
      case "SHARED":
        return { mount: bind(data), release: async () => {} };
      case "LOCKED": {
        const lock = await acquireFileLock(join(root, "locked.lock"), lockOpts);
        return { mount: bind(data), release: async () => lock.release() };
      }
      case "PRIVATE": {
        const lock: HeldLock | undefined = await tryAcquireFileLock(join(root, "private.lock"), lockOpts);
        if (lock) return { mount: bind(data), release: async () => lock.release() };
        const copy = join(root, `${PRIVATE_COPY_PREFIX}${randomBytes(6).toString("hex")}`);
        await runChecked(this.#runner, "cp", ["-a", "--reflink=auto", "--", data, copy], { signal });
        // Removed by a helper: in rootless mode the copy holds files of the containers' sub-uids, which the engine's
        // own user may not unlink on the host side.
        return { mount: bind(copy), release: () => runChecked(this.#runner, "rm", ["-rf", "--", copy]).then(() => {}) };
      }
    }
  }
}
