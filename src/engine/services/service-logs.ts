// A service's output: the last lines in memory (for ServiceError and `svc logs`) and a capped copy on disk.
//
// Layout: <paths.serviceLogsDir>/<container id>.log (the newest output) and <id>.log.1 (the part before it), one pair
// per service run; the directory 0700, the files 0600. Cap: when the current file would pass half the per-service
// budget (SVCD_SERVICE_LOG_MAX_BYTES, default 16 MiB) it is renamed over <id>.log.1 and a new one is started, so the
// two hold the newest output and never more than the budget. Retention: a log outlives its service (for the last
// run of a stopped service) and is removed by pruneServiceLogs once its container is gone and the log has been
// untouched for SVCD_SERVICE_LOG_RETENTION_MS (default 1 h); close() stamps the end of the run as its mtime.
// Readers (`logs()`, service-log-reader.ts) read the files; a follower waits on `changed()`, which the writer
// signals after each append, rotation and at close — no polling. Which run was a service's last, per session, is in
// its `.run` index file (service-log-index.ts), removed with the run's log.
import { chmodSync, closeSync, openSync } from "node:fs";
import { open, readdir, rename, rm, stat, utimes, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { abortable } from "../../common/abortable.js";
import { InvalidArgumentError } from "../../common/errors.js";
import type { ContainerdClient } from "../../containerd/index.js";
import type { PathRoots } from "../../common/paths.js";
import { ensurePrivateDirSync, PRIVATE_FILE_MODE } from "../../common/private-dir.js";
import { pruneRunIndex } from "./service-log-index.js";

/** Lines kept in memory per service. */
export const LOG_TAIL_LINES = 50;
/** Characters kept in memory of one line (the file keeps it whole, within its cap): the tail stays bounded. */
export const LOG_TAIL_LINE_CHARS = 4096;
export const DEFAULT_LOG_MAX_BYTES = 16 * 1024 * 1024;
export const DEFAULT_LOG_RETENTION_MS = 60 * 60 * 1000;
/** A service log's name: `<container id>.log`, and its rotated part `<container id>.log.1`. */
export const SERVICE_LOG_FILE = /^(.+)\.log(\.1)?$/;

function envNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name}=${JSON.stringify(raw)}: expected an integer ≥ ${min}`);
  return n;
}

/** The per-service byte budget (both files together), from SVCD_SERVICE_LOG_MAX_BYTES. */
export function serviceLogMaxBytes(env: NodeJS.ProcessEnv = process.env): number {
  return envNumber(env, "SVCD_SERVICE_LOG_MAX_BYTES", DEFAULT_LOG_MAX_BYTES, 2);
}

/** How long a stopped service's log is kept, from SVCD_SERVICE_LOG_RETENTION_MS. */
export function serviceLogRetentionMs(env: NodeJS.ProcessEnv = process.env): number {
  return envNumber(env, "SVCD_SERVICE_LOG_RETENTION_MS", DEFAULT_LOG_RETENTION_MS, 0);
}

export interface ServiceLogsOptions {
  /** Byte budget of this service's log files together (default: serviceLogMaxBytes()). */
  maxBytes?: number;
}

export class ServiceLogs {
  readonly path: string;
  readonly #lines: string[] = [];
  #partial = "";
  readonly #half: number;
  #handle: Promise<FileHandle | undefined>;
  #size = 0;
  /** Output not yet on disk, oldest first; at most one budget of it (the oldest is dropped first, as rotation would). */
  readonly #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** The one writer draining #pending; errors are swallowed (best effort: a full disk must not fail the service). */
  #writing: Promise<void> | undefined;
  #closed: Promise<void> | undefined;
  /** Told of every complete line as the tail keeps it (readiness's waitForLog). */
  readonly #lineListeners = new Set<(line: string) => void>();
  /** Bumped after each append reached the file, each rotation and at close: what followers wait on. */
  #version = 0;
  #ended = false;
  #nextChange: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #finished!: () => void;
  /** Resolves once close() has flushed and closed the file. */
  readonly finished = new Promise<void>((resolve) => (this.#finished = resolve));

  constructor(paths: PathRoots & { serviceLogsDir: string }, id: string, opts: ServiceLogsOptions = {}) {
    const dir = ensurePrivateDirSync(paths, paths.serviceLogsDir);
    this.path = join(dir, `${id}.log`);
    this.#half = Math.max(1, Math.floor((opts.maxBytes ?? serviceLogMaxBytes()) / 2));
    // Created here, synchronously, with its mode: the file exists (0600) before the service writes a byte.
    closeSync(openSync(this.path, "a", PRIVATE_FILE_MODE));
    chmodSync(this.path, PRIVATE_FILE_MODE);
    this.#handle = open(this.path, "a", PRIVATE_FILE_MODE).then(
      async (h) => ((this.#size = (await h.stat()).size), h),
      () => undefined,
    );
  }

  /** Appends a chunk of stdout or stderr. */
  write(chunk: Buffer): void {
    if (!this.#closed) {
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.length;
      // A disk slower than the service must not queue its output in memory.
      while (this.#pendingBytes > 2 * this.#half && this.#pending.length > 1) this.#pendingBytes -= this.#pending.shift()!.length;
      this.#drain();
    }
    const text = this.#partial + chunk.toString("utf8");
    const parts = text.split("\n");
    this.#partial = (parts.pop() ?? "").slice(0, LOG_TAIL_LINE_CHARS);
    for (const line of parts) this.#push(line.slice(0, LOG_TAIL_LINE_CHARS));
  }

  /** Calls `listener` with every complete line from now on (cut at LOG_TAIL_LINE_CHARS); returns the unsubscribe. */
  onLine(listener: (line: string) => void): () => void {
    this.#lineListeners.add(listener);
    return () => this.#lineListeners.delete(listener);
  }

  /** The last `n` lines (an unterminated last line included). */
  tail(n = LOG_TAIL_LINES): string {
    const lines = this.#partial ? [...this.#lines, this.#partial] : [...this.#lines];
    return lines.slice(-n).join("\n");
  }

  /** Changes with every append on disk, rotation and the close: pass it to `changed()`. */
  get version(): number {
    return this.#version;
  }

  /** True once closed: everything written is in the files, and nothing more will be. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Resolves once `version` has passed `since` (at once if it has); rejects with CancelledError when `signal` aborts. */
  changed(since: number, signal?: AbortSignal): Promise<void> {
    if (this.#version !== since) return Promise.resolve();
    this.#nextChange ??= new Promise<void>((resolve) => (this.#wake = resolve));
    return abortable(this.#nextChange, signal, "following the service's log");
  }

  /** Resolves once every chunk written so far has reached the file (or failed to). */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  /** Flushes and closes the file; its mtime marks the end of the run, from which retention counts. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      while (this.#writing) await this.#writing;
      const handle = await this.#handle;
      this.#handle = Promise.resolve(undefined);
      await handle?.close().catch(() => {});
      const now = new Date();
      await utimes(this.path, now, now).catch(() => {});
      this.#ended = true;
      this.#changed();
      this.#finished();
    })();
    return this.#closed;
  }

  #changed(): void {
    this.#version++;
    const wake = this.#wake;
    this.#nextChange = undefined;
    this.#wake = undefined;
    wake?.();
  }

  #drain(): void {
    if (this.#writing) return;
    this.#writing = (async () => {
      for (let chunk = this.#pending.shift(); chunk; chunk = this.#pending.shift()) {
        this.#pendingBytes -= chunk.length;
        await this.#append(chunk).catch(() => {});
        this.#changed();
      }
    })().finally(() => {
      this.#writing = undefined;
      if (this.#pending.length > 0) this.#drain();
    });
  }

  async #append(chunk: Buffer): Promise<void> {
    let handle = await this.#handle;
    if (!handle) return;
    // One chunk larger than a whole file keeps only its newest part.
    const data = chunk.length > this.#half ? chunk.subarray(chunk.length - this.#half) : chunk;
    if (this.#size + data.length > this.#half && this.#size > 0) {
      await handle.close();
      this.#handle = Promise.resolve(undefined);
      await rename(this.path, `${this.path}.1`);
      handle = await open(this.path, "w", PRIVATE_FILE_MODE);
      this.#handle = Promise.resolve(handle);
      this.#size = 0;
    }
    await handle.write(data);
    this.#size += data.length;
  }

  #push(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > LOG_TAIL_LINES) this.#lines.shift();
    for (const listener of this.#lineListeners) listener(line);
  }
}

export interface PruneServiceLogsOptions {
  /** Remove logs untouched for longer than this (ms). */
  olderThanMs: number;
  /** True while the service's container exists: its log is kept whatever its age. */
  isLive: (containerId: string) => boolean;
  /** The current time (ms since the epoch); Date.now() by default. */
  now?: number;
}

/** Removes the logs (with their rotated parts) of services that are gone and untouched for `olderThanMs`; `removed` counts runs. */
export async function pruneServiceLogs(dir: string, opts: PruneServiceLogsOptions): Promise<{ removed: number; freedBytes: number }> {
  if (!Number.isFinite(opts.olderThanMs) || opts.olderThanMs < 0) {
    throw new InvalidArgumentError(`pruneServiceLogs: olderThanMs must be a number ≥ 0, not ${String(opts.olderThanMs)}`);
  }
  const now = opts.now ?? Date.now();
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [] as string[];
    throw err;
  });
  // A run's two files go together; its age counts from the newer one (close() stamps <id>.log at the run's end).
  const runs = new Map<string, string[]>();
  for (const name of names) {
    const m = SERVICE_LOG_FILE.exec(name);
    if (!m) continue;
    runs.set(m[1]!, [...(runs.get(m[1]!) ?? []), join(dir, name)]);
  }
  let removed = 0;
  let freedBytes = 0;
  for (const [id, paths] of runs) {
    if (opts.isLive(id)) continue;
    const stats = (await Promise.all(paths.map((p) => stat(p).catch(() => undefined)))).filter((st) => st?.isFile());
    if (stats.length === 0 || stats.some((st) => now - st!.mtimeMs <= opts.olderThanMs)) continue;
    for (const p of paths) await rm(p, { force: true });
    removed += 1;
    freedBytes += stats.reduce((sum, st) => sum + st!.size, 0);
  }
  await pruneRunIndex(dir);
  return { removed, freedBytes };
}

/** Ids of the containers that exist in any containerd namespace (a service's log is live while they do). */
export async function liveContainerIds(client: Pick<ContainerdClient, "namespaces" | "withNamespace">): Promise<Set<string>> {
  const ids = new Set<string>();
  const { namespaces } = await client.namespaces.list({});
  for (const { name } of namespaces) {
    const { containers } = await client.withNamespace(name).containers.list({});
    for (const c of containers) ids.add(c.id);
  }
  return ids;
}

/** The automatic part of retention, run at every connect: logs of services gone for longer than the retention. */
export async function pruneExpiredServiceLogs(
  client: Pick<ContainerdClient, "namespaces" | "withNamespace">,
  dir: string,
  env: NodeJS.ProcessEnv = process.env,
  olderThanMs: number = serviceLogRetentionMs(env),
): Promise<{ removed: number; freedBytes: number }> {
  const live = await liveContainerIds(client);
  return pruneServiceLogs(dir, { olderThanMs, isLive: (id) => live.has(id) });
}
