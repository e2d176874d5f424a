// A cross-process exclusive lock on a file, held by the kernel: flock(2) on an open file description.
//
// Node has no flock, so util-linux's `flock(1)` takes it for us: this process opens the lock file and hands that
// descriptor to `flock --exclusive 3` as fd 3. flock(2) locks belong to the open file description, which the child
// shares with us, so the lock stays held after the child exits — until we close our descriptor, or this process
// dies and the kernel closes it. There is therefore no stale lock to detect or break (an O_EXCL lockfile with
// pid + start time needs a racy "remove the stale file" step). Our fd is close-on-exec, so processes started while
// holding the lock (containerd) never inherit it. The file's content (pid, start time) is informational only.
//
// Layout: one file at the given path; empty or `<pid> <start time>\n` of the last holder. Never deleted.
import { closeSync, ftruncateSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { CancelledError, EngineUnavailableError, InternalError, TimeoutError, throwIfAborted } from "./errors.js";
import { processStartTime } from "./owner.js";
import type { ProcessRunner } from "./process-runner.js";
import { debug } from "./debug.js";

const log = debug("rootless");

/** flock(1)'s exit code when the lock was not obtained within --wait. */
const CONFLICT_EXIT = 75;

export interface FileLockOptions {
  /** Spawns `flock`; the rootless runner may run it in the engine's namespaces (the fd crosses unchanged). */
  runner: ProcessRunner;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Give up waiting for another holder after this long (default 60 s). */
  timeoutMs?: number;
  /**
   * Take a shared lock (flock --shared) instead of an exclusive one: any number of shared holders at once, none
   * while an exclusive holder has it. A reference count the kernel keeps: whoever then gets it exclusively
   * (tryAcquireFileLock) knows no shared holder is left. Shared holders do not write the pid note.
   */
  shared?: boolean;
}

/** A held lock; `release()` is idempotent. */
export interface HeldLock {
  readonly path: string;
  release(): void;
}

/** Blocks until this process holds a lock on `path` (created if missing): exclusive, or shared with `opts.shared`. */
export async function acquireFileLock(path: string, opts: FileLockOptions): Promise<HeldLock> {
  const lock = await lockFile(path, opts, true);
  return lock!;
}

/** Takes the lock on `path` only if nobody holds it: the held lock, or undefined when it is busy. */
export async function tryAcquireFileLock(path: string, opts: FileLockOptions): Promise<HeldLock | undefined> {
  return lockFile(path, opts, false);
}

async function lockFile(path: string, opts: FileLockOptions, wait: boolean): Promise<HeldLock | undefined> {
  throwIfAborted(opts.signal);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 }); // lock dirs are private (see private-dir.ts)
  const fd = openSync(path, "a+", 0o600);
  let got: boolean;
  try {
    got = await takeFlock(fd, path, opts, wait);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  if (!got) {
    closeSync(fd);
    return undefined;
  }
  let released = false;
  if (!opts.shared) {
    try {
      const note = `${process.pid} ${processStartTime(process.pid) ?? "0"}\n`;
      ftruncateSync(fd, 0);
      writeSync(fd, note, 0);
    } catch {
      // The note is for humans; the lock itself is held regardless.
    }
  }
  log("lock %s held (%s) by pid %d", path, opts.shared ? "shared" : "exclusive", process.pid);
  return {
    path,
    release() {
      if (released) return;
      released = true;
      closeSync(fd);
      log("lock %s released", path);
    },
  };
}

/**
 * Runs `flock --exclusive 3` with our descriptor as its fd 3; resolves true once it has the lock, false when
 * `wait` is off and another holder has it. A timeout while waiting is a TimeoutError.
 */
function takeFlock(fd: number, path: string, opts: FileLockOptions, wait: boolean): Promise<boolean> {
  const waitSeconds = Math.max(1, Math.ceil((opts.timeoutMs ?? 60_000) / 1000));
  const mode = wait ? ["--wait", String(waitSeconds)] : ["--nonblock"];
  const args = [opts.shared ? "--shared" : "--exclusive", ...mode, "--conflict-exit-code", String(CONFLICT_EXIT), "3"];
  return new Promise((resolve, reject) => {
    const child = opts.runner.spawn("flock", args, { env: opts.env, stdio: ["ignore", "ignore", "pipe", fd] });
    let stderr = "";
    let settled = false;
    const onAbort = () => child.kill("SIGKILL");
    const finish = (err: Error | undefined, got = false) => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener("abort", onAbort);
      if (err) reject(err);
      else resolve(got);
    };
    child.stderr?.on("data", (b: Buffer) => (stderr += b.toString("utf8")));
    child.on("error", (err: NodeJS.ErrnoException) =>
      finish(
        err.code === "ENOENT"
          ? new EngineUnavailableError("flock is not installed: apt-get install util-linux", { cause: err })
          : new InternalError(`could not run flock for ${path}: ${err.message}`, { cause: err }),
      ),
    );
    child.on("close", (code) => {
      if (opts.signal?.aborted) return finish(new CancelledError(`waiting for lock ${path} cancelled`, { cause: opts.signal.reason }));
      if (code === 0) return finish(undefined, true);
      if (code === CONFLICT_EXIT && !wait) return finish(undefined, false);
      if (code === CONFLICT_EXIT) return finish(new TimeoutError(`lock ${path} still held by another process after ${waitSeconds} s`));
      finish(new InternalError(`flock on ${path} failed (exit ${code}): ${stderr.trim()}`));
    });
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Runs `fn` while holding the lock on `path`; the lock is released however `fn` ends. */
export async function withFileLock<T>(path: string, opts: FileLockOptions, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireFileLock(path, opts);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
