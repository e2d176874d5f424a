// Reading one run's log for `logs()`: its rotated part (`<id>.log.1`) then its current file (`<id>.log`), as lines,
// from the last `tail` lines or from the start; with `follow` (and the run's writer in this process), on as the
// service writes, across rotations, until its log is closed. A follower waits on the writer's `changed()`, never on
// a timer. Every file handle is closed when the generator ends, fails or is returned from.
//
// A reader slower than the log's cap (both files rotating while it is behind) misses what rotated away: the log keeps
// the newest output, as it always does.
import type { FileHandle } from "node:fs/promises";
import { open, stat } from "node:fs/promises";
import { NotFoundError, throwIfAborted } from "../../common/errors.js";
import { batchLines, LineSplitter, tailStart, type ReadAt } from "./log-lines.js";

/** The writer of a run still open in this process (a ServiceLogs). */
export interface LiveLog {
  readonly version: number;
  readonly ended: boolean;
  changed(since: number, signal?: AbortSignal): Promise<void>;
  flush(): Promise<void>;
}

export interface ReadServiceLogOptions {
  /** `<dir>/<container id>.log`. */
  path: string;
  /** What the log is of, for errors ("service abc"). */
  what: string;
  /** The run's writer when it is open in this process: follow needs it, and a read flushes it first. */
  live?: LiveLog | undefined;
  follow?: boolean | undefined;
  tail?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Read size (tests shrink it). */
  chunkBytes?: number | undefined;
}

interface OpenFile {
  handle: FileHandle;
  ino: number;
  size: number;
}

/** Yields batches of lines (never empty). */
export async function* readServiceLog(opts: ReadServiceLogOptions): AsyncGenerator<string[], void, undefined> {
  const { path, live, signal } = opts;
  const chunkBytes = opts.chunkBytes ?? 64 * 1024;
  await live?.flush(); // what the engine has received is in the files
  throwIfAborted(signal);
  const version = live?.version ?? 0;
  const ended = live?.ended ?? true;
  // The current file first: a rotation between the two opens then shows as the same inode twice.
  let cur = await openIfPresent(path);
  let prev = await openIfPresent(`${path}.1`);
  try {
    if (!cur && !prev) throw new NotFoundError(`the log of ${opts.what} is gone (removed after its retention period, or by prune): it has to run again to have one`);
    if (cur && prev && cur.ino === prev.ino) {
      // Rotated in between: what we opened as current is the rotated part now (complete: its later open saw all of
      // it), and the part before it is lost. The new current file is the follower's to find.
      await cur.handle.close();
      cur = undefined;
    }
    const splitter = new LineSplitter();
    const parts = [prev, cur].filter((f): f is OpenFile => f !== undefined);
    const total = parts.reduce((sum, f) => sum + f.size, 0);
    const readAt: ReadAt = (position, length) => readJoined(parts, position, length);
    const start = opts.tail === undefined ? 0 : await tailStart(readAt, total, opts.tail, chunkBytes);
    const follow = opts.follow === true && live !== undefined && !ended;
    // The snapshot: from `start` to the sizes at open.
    const kept: string[] = [];
    for (let pos = start; pos < total; ) {
      throwIfAborted(signal);
      const chunk = await readAt(pos, Math.min(chunkBytes, total - pos));
      if (chunk.length === 0) break;
      pos += chunk.length;
      const lines = splitter.push(chunk);
      if (opts.tail === undefined) {
        if (lines.length > 0) yield lines;
      } else {
        kept.push(...lines);
        if (kept.length > 2 * opts.tail + 1024) kept.splice(0, kept.length - opts.tail);
      }
    }
    if (!follow) {
      const rest = splitter.end();
      if (opts.tail === undefined) {
        if (rest.length > 0) yield rest;
      } else if (opts.tail > 0) {
        yield* nonEmpty(batchLines([...kept, ...rest].slice(-opts.tail)));
      }
      return;
    }
    if (opts.tail !== undefined) {
      // The unterminated last line is one of the `tail`: it is given once it ends.
      const n = opts.tail - (splitter.pending ? 1 : 0);
      if (n > 0) yield* nonEmpty(batchLines(kept.slice(-n)));
    }
    await prev?.handle.close();
    prev = undefined;
    const handOver = cur;
    cur = undefined; // the follower closes it
    yield* follow_(path, handOver, splitter, live, version, signal, chunkBytes);
  } finally {
    await prev?.handle.close().catch(() => {});
    await cur?.handle.close().catch(() => {});
  }
}

/** From the end of the snapshot on, until the writer has closed the log and all of it is read. */
async function* follow_(
  path: string,
  first: OpenFile | undefined,
  splitter: LineSplitter,
  live: LiveLog,
  firstVersion: number,
  signal: AbortSignal | undefined,
  chunkBytes: number,
): AsyncGenerator<string[], void, undefined> {
  let cur = first;
  let pos = cur?.size ?? 0;
  let version = firstVersion;
  let ended = false;
  const drain = async function* (file: OpenFile): AsyncGenerator<string[], void, undefined> {
    const buf = Buffer.alloc(chunkBytes);
    for (;;) {
      throwIfAborted(signal);
      const { bytesRead } = await file.handle.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) return;
      pos += bytesRead;
      const lines = splitter.push(buf.subarray(0, bytesRead));
      if (lines.length > 0) yield lines;
    }
  };
  try {
    for (;;) {
      if (cur) yield* drain(cur);
      // Rotated: the writer closed the old file before renaming it, so after one more drain it is complete.
      const st = await stat(path).catch(() => undefined);
      if (!cur || st?.ino !== cur.ino) {
        if (cur) {
          yield* drain(cur);
          const done = cur;
          cur = undefined;
          await done.handle.close();
        }
        if (st) {
          cur = await openIfPresent(path);
          pos = 0;
          if (cur) continue; // read the new file before waiting
        }
      }
      if (ended) break;
      await live.changed(version, signal);
      // Captured before the next drain: once ended, that drain reads everything there will ever be.
      version = live.version;
      ended = live.ended;
    }
    const rest = splitter.end();
    if (rest.length > 0) yield rest;
  } finally {
    await cur?.handle.close().catch(() => {});
  }
}

async function* nonEmpty(batches: string[][]): AsyncGenerator<string[], void, undefined> {
  for (const b of batches) if (b.length > 0) yield b;
}

async function openIfPresent(path: string): Promise<OpenFile | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    const st = await handle.stat();
    return { handle, ino: st.ino, size: st.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** Reads from the files as one sequence, each up to its size at open. */
async function readJoined(parts: OpenFile[], position: number, length: number): Promise<Buffer> {
  const out: Buffer[] = [];
  let offset = 0;
  let want = length;
  let pos = position;
  for (const part of parts) {
    if (want <= 0) break;
    if (pos >= offset + part.size) {
      offset += part.size;
      continue;
    }
    const at = pos - offset;
    const n = Math.min(want, part.size - at);
    const buf = Buffer.alloc(n);
    const { bytesRead } = await part.handle.read(buf, 0, n, at);
    out.push(buf.subarray(0, bytesRead));
    if (bytesRead < n) break; // the file shrank (it cannot: logs only grow or are replaced), stop here
    want -= n;
    pos += n;
    offset += part.size;
  }
  return Buffer.concat(out);
}
