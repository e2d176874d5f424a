// Host-side work the engine needs done on the caller's side (DESIGN.md §1): today, digesting a host directory.
// The embedded engine gets a local adapter; the daemon will get one that calls back to its client.
export interface HostAdapter {
  /** A digest of every file's path, size and mtime under a host directory (not its contents: fast on big trees). */
  directoryDigest(path: string, signal?: AbortSignal): Promise<string>;
}
