// The one way engine state directories are made: the two roots (Paths.state, Paths.runtime) 0711 — traversable, so
// that a later group-accessible socket can be reached by name, but not listable — and every directory below them
// 0700, so no other local user can read a log, a hosts file, a cache volume or a lease. A directory that exists with
// another mode (an older svcd, a hand-made dir) is chmod-ed back; a non-directory in the way is an error.
import { chmodSync, lstatSync, mkdirSync, statSync } from "node:fs";
import { chmod, lstat, mkdir, stat } from "node:fs/promises";
import { relative, resolve, sep, join, isAbsolute } from "node:path";
import { InternalError } from "./errors.js";
import type { PathRoots } from "./paths.js";

/** Mode of Paths.state and Paths.runtime. */
export const ROOT_DIR_MODE = 0o711;
/** Mode of every directory below a root. */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of files holding engine state (logs, claims, records). */
export const PRIVATE_FILE_MODE = 0o600;

export interface PrivateDirOptions {
  /**
   * Mode of `dir` itself (default 0700). Only for a directory that containers see through a bind mount (a cache
   * volume's data), whose own mode is what a non-root process in the container gets; its 0700 parents keep host users out.
   */
  mode?: number;
}

interface Step {
  path: string;
  mode: number;
}

/** The directories from `dir`'s root down to `dir`, each with the mode it must have. */
function plan(roots: PathRoots, dir: string, opts: PrivateDirOptions): { root: string; steps: Step[] } {
  const target = resolve(dir);
  for (const root of [resolve(roots.state), resolve(roots.runtime)]) {
    const rel = relative(root, target);
    if (rel === "") return { root, steps: [{ path: root, mode: ROOT_DIR_MODE }] };
    if (rel.startsWith("..") || isAbsolute(rel)) continue;
    const steps: Step[] = [{ path: root, mode: ROOT_DIR_MODE }];
    let at = root;
    for (const part of rel.split(sep)) {
      at = join(at, part);
      steps.push({ path: at, mode: PRIVATE_DIR_MODE });
    }
    if (opts.mode !== undefined) steps[steps.length - 1]!.mode = opts.mode;
    return { root, steps };
  }
  throw new InternalError(`${dir} lies under neither the state dir ${roots.state} nor the runtime dir ${roots.runtime}`);
}

function notADirectory(path: string): InternalError {
  return new InternalError(`${path} exists and is not a directory: move it away (svcd keeps its state there)`);
}

/**
 * Creates `dir` (under Paths.state or Paths.runtime) and every missing directory up to its root with the engine's
 * modes, and fixes the mode of those that exist. Returns `dir`. Idempotent and safe to race with other processes.
 */
export async function ensurePrivateDir(roots: PathRoots, dir: string, opts: PrivateDirOptions = {}): Promise<string> {
  const { root, steps } = plan(roots, dir, opts);
  await mkdir(resolve(root, ".."), { recursive: true }); // /var/lib, /run, or a test's temp dir: not ours to mode
  for (const { path, mode } of steps) {
    try {
      await mkdir(path, { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    // mkdir's mode passes through the umask, and an existing dir keeps its own: set it exactly.
    const st = path === root ? await stat(path) : await lstat(path); // a root may be a symlink; nothing below it
    if (!st.isDirectory()) throw notADirectory(path);
    if ((st.mode & 0o7777) !== mode) await chmod(path, mode);
  }
  return dir;
}

/** ensurePrivateDir for synchronous callers (a constructor, an exit handler). */
export function ensurePrivateDirSync(roots: PathRoots, dir: string, opts: PrivateDirOptions = {}): string {
  const { root, steps } = plan(roots, dir, opts);
  mkdirSync(resolve(root, ".."), { recursive: true });
  for (const { path, mode } of steps) {
    try {
      mkdirSync(path, { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const st = path === root ? statSync(path) : lstatSync(path);
    if (!st.isDirectory()) throw notADirectory(path);
    if ((st.mode & 0o7777) !== mode) chmodSync(path, mode);
  }
  return dir;
}
