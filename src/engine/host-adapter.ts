// Host-side work the engine needs done on the caller's side (DESIGN.md §1): today, digesting a host directory.
// The embedded engine gets a local adapter; the daemon will get one that calls back to its client.
import type { Server } from "node:net";
import type { Socket as DatagramSocket } from "node:dgram";

export interface HostAdapter {
  /**
   * A TCP listener on the caller's host at address:port (0: any free port), for `up`. A port already in use is an
   * InvalidArgumentError naming it; nothing is left listening.
   */
  listenTcp(address: string, port: number, signal?: AbortSignal): Promise<Server>;
  /** A bound UDP socket on the caller's host at address:port (0: any free port), for `up` of UDP ports. */
  bindUdp(address: string, port: number, signal?: AbortSignal): Promise<DatagramSocket>;
  /** A digest of every file's path, size and mtime under a host directory (not its contents: fast on big trees). */
  directoryDigest(path: string, signal?: AbortSignal): Promise<string>;
}
