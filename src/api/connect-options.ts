// Options of `connect()`, each documented for the caller.
import type { ProgressEvent } from "../definition/index.js";

export interface ConnectOptions {
  /**
   * "auto" (default): svcd's daemon when its socket answers (a connect and a version call within 1 s), else an
   * embedded engine in this process. "daemon" insists on the daemon, "embedded" never tries it.
   */
  engine?: "auto" | "embedded" | "daemon";
  /** The daemon's socket. Default: $SVCD_SOCKET, else /run/svcd/svcd.sock (root) or $XDG_RUNTIME_DIR/svcd/svcd.sock. */
  socket?: string;
  /** containerd's socket (embedded only). Default: $CONTAINERD_ADDRESS, else a system containerd that answers, else a managed one. */
  containerd?: string;
  /** containerd namespace for everything svcd creates (embedded only; a daemon has its own). Default "svcd". */
  namespace?: string;
  /** "auto" (default): rootless when not root, rootful as root. `true` insists on rootless, `false` on root (embedded only). */
  rootless?: "auto" | boolean;
  /** Registry host → mirror base URL, e.g. { "docker.io": "http://127.0.0.1:5000" }. Env: SVCD_REGISTRY_MIRRORS. */
  registryMirrors?: Record<string, string>;
  /** Session id (default: random). Services and their hostnames are scoped to a session; daemon clients passing one id share it. */
  sessionId?: string;
  /** Module id, part of global hostnames `<host>.<module>.<session>.svcd.local`. Default "main". */
  moduleId?: string;
  /** How long an unreferenced service keeps running before it is stopped. Default 10 000 ms. */
  serviceGracePeriodMs?: number;
  /** Aborting closes the client. */
  signal?: AbortSignal;
  /** Pull and start progress. */
  onProgress?: (event: ProgressEvent) => void;
}
