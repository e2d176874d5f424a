// The host adapter for an engine running in the caller's own process: host-side work done right here.
import { lstat, opendir } from "node:fs/promises";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { InvalidArgumentError, throwIfAborted } from "../common/errors.js";
import type { HostAdapter } from "../engine/index.js";

export class LocalHost implements HostAdapter {
  /** Digest of each entry's relative path, type, mode, size and mtime, in sorted order; contents are not read. */
  async directoryDigest(path: string, signal?: AbortSignal): Promise<string> {
    let root;
    try {
      root = await lstat(path);
    } catch (err) {
      throw new InvalidArgumentError(`host directory ${path} cannot be read: ${(err as Error).message}`, { cause: err });
    }
    if (!root.isDirectory()) throw new InvalidArgumentError(`host path ${path} is not a directory`);
    const hash = createHash("sha256");
    const walk = async (dir: string, rel: string): Promise<void> => {
      throwIfAborted(signal);
      const names: string[] = [];
      for await (const entry of await opendir(dir)) names.push(entry.name);
      names.sort();
      for (const name of names) {
        const full = join(dir, name);
        const st = await lstat(full);
        const relPath = rel ? `${rel}/${name}` : name;
        hash.update(`${relPath}\0${st.mode}\0${st.size}\0${st.mtimeMs}\n`);
        if (st.isDirectory()) await walk(full, relPath);
      }
    };
    await walk(path, "");
    return "sha256:" + hash.digest("hex");
  }
}
