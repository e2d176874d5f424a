// Where svcd's socket is (DESIGN.md §2, §6): SVCD_SOCKET, else root's /run/svcd/svcd.sock, else the user's
// $XDG_RUNTIME_DIR/svcd/svcd.sock when the user owns that runtime dir with mode 0700, else /tmp/svcd-<uid>/svcd.sock.
import { statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { InvalidArgumentError } from "../common/errors.js";

export const SOCKET_NAME = "svcd.sock";
/** Unix socket paths are limited to 108 bytes, the terminating NUL included. */
const MAX_SOCKET_PATH = 107;

/** The runtime dir a daemon of `uid` keeps its socket in (by default). */
export function defaultDaemonDir(uid: number = process.getuid?.() ?? 0, env: NodeJS.ProcessEnv = process.env): string {
  if (uid === 0) return "/run/svcd";
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg && isAbsolute(xdg)) {
    try {
      const st = statSync(xdg);
      if (st.isDirectory() && st.uid === uid && (st.mode & 0o777) === 0o700) return join(xdg, "svcd");
    } catch {
      // not there: the /tmp fallback
    }
  }
  return `/tmp/svcd-${uid}`;
}

/** The socket a client tries and a daemon listens on: `explicit` (the `socket` option or --socket), SVCD_SOCKET, the default. */
export function daemonSocketPath(explicit?: string, env: NodeJS.ProcessEnv = process.env, uid: number = process.getuid?.() ?? 0): string {
  const chosen = explicit ?? (env.SVCD_SOCKET || undefined);
  if (chosen === undefined) return join(defaultDaemonDir(uid, env), SOCKET_NAME);
  const where = explicit !== undefined ? "socket" : "SVCD_SOCKET";
  if (typeof chosen !== "string" || !isAbsolute(chosen)) throw new InvalidArgumentError(`${where} ${JSON.stringify(chosen)} must be an absolute path to svcd's unix socket`);
  if (Buffer.byteLength(chosen) > MAX_SOCKET_PATH) throw new InvalidArgumentError(`${where} ${chosen} is longer than ${MAX_SOCKET_PATH} bytes, the limit of a unix socket path: pick a shorter one`);
  return chosen;
}
