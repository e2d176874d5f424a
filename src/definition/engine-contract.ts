// The contract between the public API and whatever evaluates definitions: the in-process engine now, the svcd
// daemon's client later. Both sides speak only plain definitions and results.
import type { ContainerDef, PortProtocol, ServiceDef } from "./container-def.js";

export interface CallOptions {
  signal?: AbortSignal;
}

/** The outcome of the last command of a container. */
export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface SyncResult {
  /** The digest of the evaluated definition (image resolved to its manifest digest). */
  digest: string;
  /** The last `withExec` of the chain, if any. */
  lastExec?: ExecResult;
}

/** Progress of long operations (pulls, service starts), for `connect({ onProgress })`. */
export type ProgressEvent =
  | { type: "pull"; ref: string; layer: string; current: number; total: number }
  | { type: "pulled"; ref: string; digest: string }
  | { type: "exec"; command: string[]; cached: boolean }
  /** A service container starting (its process started, readiness checks running) and ready for its clients. */
  | { type: "service"; hostname: string; state: "starting" | "ready" };

/** A port mapping for `up`: host `frontend` → service `backend`, both 1–65535. */
export interface UpPortRequest {
  /** Default: the backend port. 0 is refused, not "any free port": `random: true` asks for free ports (DESIGN §2). */
  frontend?: number;
  backend: number;
  protocol?: PortProtocol;
}

export interface UpRequest {
  /** Explicit mappings; default: every exposed port of the service on the same host port. */
  ports?: UpPortRequest[];
  /** Pick free host ports instead of the native ones. */
  random?: boolean;
  /** Host address to listen on; default 127.0.0.1. */
  bind?: string;
}

/** What was actually bound. */
export interface UpPort {
  frontend: number;
  backend: number;
  protocol: PortProtocol;
}

/** A running `up`: forwarding until close(). */
export interface UpSession {
  ports: UpPort[];
  /** Stops forwarding (the ports are free when it resolves) and releases the service. Idempotent. */
  close(): Promise<void>;
}

/** What `client.prune()` removes; see DESIGN.md §2. */
export interface PruneOptions {
  /** Remove least recently used steps until the build cache holds at most this many bytes. */
  keepStorageBytes?: number;
  /** Remove only steps no session used for longer than this. */
  olderThanMs?: number;
  /** Without the two limits: remove every step no live session uses (instead of applying the configured policy). */
  all?: boolean;
}

/** What a prune removed. */
export interface PruneResult {
  /** Build-cache steps (each with its stored outputs) and service logs removed. */
  removed: number;
  /** Bytes they held. */
  freedBytes: number;
}

/** What `serviceLogs` reads; see DESIGN.md §2 (`Service.logs`). */
export interface LogsOptions {
  /** Keep yielding new lines while the service runs; the iteration ends when it stops. */
  follow?: boolean;
  /** Start at the last `tail` lines (a non-negative integer; an unterminated last line counts as one). Default: all. */
  tail?: number;
}

export interface Engine {
  /** Evaluates every step of the container (cached steps are not run again). */
  sync(def: ContainerDef, options?: CallOptions): Promise<SyncResult>;
  /** Reads a file of the evaluated container's filesystem. */
  readFile(def: ContainerDef, path: string, options?: CallOptions): Promise<Buffer>;
  /** The canonical digest of the definition, with its image resolved. */
  digest(def: ContainerDef, options?: CallOptions): Promise<string>;
  /** The service's hostname: its custom one, or the content-addressed hash of its definition. */
  serviceHostname(def: ServiceDef, options?: CallOptions): Promise<string>;
  /** Starts the service (healthy) and keeps it running until stopService or the session's end. */
  startService(def: ServiceDef, options?: CallOptions): Promise<void>;
  /** Stops the service (SIGTERM, or SIGKILL with `kill`) and waits for its process to exit. */
  stopService(def: ServiceDef, stop: { kill: boolean }, options?: CallOptions): Promise<void>;
  /** Starts the service (if needed) and forwards host ports to it until the session is closed. */
  up(def: ServiceDef, request: UpRequest, options?: CallOptions): Promise<UpSession>;
  /**
   * The output lines of the service's current run (stdout and stderr merged in arrival order) or, once it has
   * stopped, of its last run in this session; in batches (never empty) as they are read. Lazy: nothing is asked
   * until the first `next()`, where a service that never ran fails with NotFoundError. Aborting the signal fails the
   * iteration with CancelledError; breaking out of it (`return()`) releases what it held before it resolves.
   */
  serviceLogs(def: ServiceDef, opts: LogsOptions, options?: CallOptions): AsyncIterable<string[]>;
  /** Removes build cache (and old service logs) that no live session uses. */
  prune(options: PruneOptions, call?: CallOptions): Promise<PruneResult>;
  /** Stops everything this session started and releases the engine's resources. Idempotent. */
  close(): Promise<void>;
}
