// `svc logs` from any process: one run's log read from its files (`<id>.log.1`, then `<id>.log`), the last `tail`
// lines or all, and with `follow` on as the engine that runs the service appends — woken by inotify (fs.watch on the
// log directory), across rotations — until `until` resolves (the service's task exited), then drained. No timer.
import { watch, type FSWatcher } from "node:fs";
import { open, readdir, readFile, stat, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { NotFoundError, throwIfAborted } from "../../common/errors.js";
import { LineSplitter } from "./log-lines.js";
import { SERVICE_RUN_FILE, type ServiceRun } from "./service-log-index.js";

/** Every recorded run in a service-log directory (each session's last run of each service). */
export async function listServiceRuns(dir: string): Promise<ServiceRun[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const runs = await Promise.all(
    names.filter((n) => SERVICE_RUN_FILE.test(n)).map(async (n) => {
      try {
        const run = JSON.parse(await readFile(join(dir, n), "utf8")) as Partial<ServiceRun>;
        return typeof run.id === "string" && typeof run.hostname === "string" && typeof run.sessionId === "string" ? (run as ServiceRun) : undefined;
      } catch {
        return undefined; // being written, or not ours
      }
    }),
  );
  return runs.filter((r): r is ServiceRun => r !== undefined);
}

export interface FollowLogOptions {
  /** `<dir>/<container id>.log`. */
  path: string;
  what: string;
  tail?: number | undefined;
  follow?: boolean | undefined;
  /** Resolves when no more output can come (the task exited). Required with `follow`. */
  until?: Promise<unknown> | undefined;
  signal?: AbortSignal | undefined;
}

/** Yields lines. */
export async function* followLogFile(opts: FollowLogOptions): AsyncGenerator<string, void, undefined> {
  const { path, signal } = opts;
  const splitter = new LineSplitter();
  const initial: string[] = [];
  let current: FileHandle | undefined;
  let ino = -1;
  let position = 0;
  const readAll = async (handle: FileHandle, from: number): Promise<number> => {
    const buf = Buffer.alloc(64 * 1024);
    let pos = from;
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) return pos;
      pos += bytesRead;
      initial.push(...splitter.push(buf.subarray(0, bytesRead)));
    }
  };
  const openCurrent = async () => {
    try {
      const h = await open(path, "r");
      return { h, st: await h.stat() };
    } catch {
      return undefined;
    }
  };
  let watcher: FSWatcher | undefined;
  let wake: (() => void) | undefined;
  let pending = false;
  const changed = () => {
    pending = true;
    wake?.();
  };
  try {
    // Watch before reading: a change during the first read is not missed.
    if (opts.follow) watcher = watch(dirname(path), (_e, name) => (!name || String(name).startsWith(basename(path)) ? changed() : undefined));
    const rotated = await open(`${path}.1`, "r").catch(() => undefined);
    const first = await openCurrent();
    if (!rotated && !first) throw new NotFoundError(`the log of ${opts.what} is gone (removed after its retention period, or by prune): it has to run again to have one`);
    if (rotated) {
      if (!first || (await rotated.stat()).ino !== first.st.ino) await readAll(rotated, 0);
      await rotated.close();
    }
    if (first) {
      current = first.h;
      ino = first.st.ino;
      position = await readAll(current, 0);
    }
    const tail = opts.tail;
    for (const line of tail === undefined ? initial : initial.slice(Math.max(0, initial.length - tail))) yield line;
    initial.length = 0;
    if (!opts.follow) {
      yield* splitter.end();
      return;
    }
    let done = false;
    void opts.until?.then(() => ((done = true), wake?.()), () => ((done = true), wake?.()));
    const aborted = () => wake?.();
    signal?.addEventListener("abort", aborted, { once: true });
    try {
      for (;;) {
        throwIfAborted(signal);
        const finishing = done;
        pending = false;
        // Rotation: the path names a new file; finish the old one, then start the new one at 0.
        const now = await stat(path).catch(() => undefined);
        if (current) position = await readAll(current, position);
        if (now && now.ino !== ino) {
          await current?.close();
          const next = await openCurrent();
          current = next?.h;
          ino = next?.st.ino ?? -1;
          position = current ? await readAll(current, 0) : 0;
        }
        for (const line of initial) yield line;
        initial.length = 0;
        if (finishing) break;
        if (!pending && !done && !signal?.aborted) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      signal?.removeEventListener("abort", aborted);
    }
    yield* splitter.end();
  } finally {
    watcher?.close();
    await current?.close();
  }
}
