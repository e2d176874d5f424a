// The contract between the public API and whatever evaluates definitions: the in-process engine now, the svcd
// daemon's client later. Both sides speak only plain definitions and results.
import type { ContainerDef, ServiceDef } from "./container-def.js";

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
  | { type: "exec"; command: string[]; cached: boolean };

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
  /** Stops everything this session started and releases the engine's resources. Idempotent. */
  close(): Promise<void>;
}
