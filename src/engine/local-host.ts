// The host adapter for an engine whose caller shares its host: the embedded engine in the caller's own process, and
// the local daemon for its clients (DESIGN.md §6: one machine, one trust domain). Host-side work is done right here.
import { constants, readFileSync } from "node:fs";
import { lstat, open, opendir, readlink, realpath, type FileHandle } from "node:fs/promises";
import { createServer, isIPv6, type Server } from "node:net";
import { createSocket, type Socket as DatagramSocket } from "node:dgram";
import { createHash } from "node:crypto";
import { InvalidArgumentError, throwIfAborted } from "../common/errors.js";
import { assertString, quote } from "../definition/index.js";
import type { HostAdapter } from "./host-adapter.js";

/** The sysctl below whose value a port needs privileges (CAP_NET_BIND_SERVICE in the host's user namespace). */
export const UNPRIVILEGED_PORT_SYSCTL = "net.ipv4.ip_unprivileged_port_start";

/** The lowest port this process may bind without privileges (1024 where the sysctl cannot be read). */
export function unprivilegedPortStart(): number {
  try {
    const value = Number(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8").trim());
    return Number.isSafeInteger(value) ? value : 1024;
  } catch {
    return 1024;
  }
}

/**
 * EACCES on bind: a port below ip_unprivileged_port_start, which a rootless engine (the user's own privileges,
 * nothing lent by root) may not take.
 */
function privilegedPortError(proto: string, address: string, port: number, cause: Error): InvalidArgumentError {
  const start = unprivilegedPortStart();
  const reason =
    port < start
      ? `${proto} ports below ${start} (${UNPRIVILEGED_PORT_SYSCTL}) need root, and svcd runs with your privileges only: ` +
        `pick a frontend port of at least ${start} or random: true, or, as root, lower ${UNPRIVILEGED_PORT_SYSCTL}`
      : `${cause.message}`;
  return new InvalidArgumentError(`not allowed to listen on ${address}:${port}: ${reason}`, { cause });
}

export class LocalHost implements HostAdapter {
  bindUdp(address: string, port: number, signal?: AbortSignal): Promise<DatagramSocket> {
    throwIfAborted(signal);
    return new Promise((resolve, reject) => {
      const socket = createSocket({ type: isIPv6(address) ? "udp6" : "udp4" });
      socket.once("error", (err: NodeJS.ErrnoException) => {
        socket.close();
        reject(
          err.code === "EADDRINUSE"
            ? new InvalidArgumentError(`UDP port ${port} on ${address} is already in use: another process holds it (see \`ss -lunp 'sport = :${port}'\`); pick another frontend port or random: true`, { cause: err })
            : err.code === "EACCES"
              ? privilegedPortError("UDP", address, port, err)
              : new InvalidArgumentError(`cannot bind UDP ${address}:${port}: ${err.message}`, { cause: err }),
        );
      });
      socket.bind({ address, port, exclusive: true }, () => resolve(socket));
    });
  }

  listenTcp(address: string, port: number, signal?: AbortSignal): Promise<Server> {
    throwIfAborted(signal);
    return new Promise((resolve, reject) => {
      const server = createServer();
      server.once("error", (err: NodeJS.ErrnoException) => {
        server.close();
        if (err.code === "EADDRINUSE") {
          reject(new InvalidArgumentError(`port ${port} on ${address} is already in use: another process listens there (see \`ss -ltnp 'sport = :${port}'\`); pick another frontend port or random: true`, { cause: err }));
        } else if (err.code === "EADDRNOTAVAIL") {
          reject(new InvalidArgumentError(`cannot listen on ${address}: no such address on this host`, { cause: err }));
        } else if (err.code === "EACCES") {
          reject(privilegedPortError("TCP", address, port, err));
        } else reject(err);
      });
      server.listen({ host: address, port, exclusive: true }, () => resolve(server));
    });
  }

  /**
   * Digest of each entry's relative path, mode, size and mtime (a symlink's target string too), in sorted order;
   * contents are not read. The path is resolved once (realpath); below it nothing is followed: every directory is
   * opened with O_NOFOLLOW and entries are reached through the parent's descriptor (/proc/self/fd/<fd>/<name>), so a
   * symlink — or a directory swapped for one while the walk runs — is recorded, never traversed or stat'ed through.
   */
  async directoryDigest(path: string, signal?: AbortSignal): Promise<string> {
    assertString(path, "host directory path");
    let root: FileHandle;
    try {
      root = await openDirectory(await realpath(path));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const reason = code === "ENOENT" ? "does not exist" : code === "ENOTDIR" ? "is not a directory" : `cannot be read (${code ?? String(err)})`;
      throw new InvalidArgumentError(`host directory ${quote(path)} ${reason}`, { cause: err });
    }
    const hash = createHash("sha256");
    const walk = async (dir: FileHandle, rel: string): Promise<void> => {
      throwIfAborted(signal);
      const at = `/proc/self/fd/${dir.fd}`;
      const names: string[] = [];
      for await (const entry of await opendir(at)) names.push(entry.name);
      names.sort();
      for (const name of names) {
        const child = `${at}/${name}`;
        const relPath = rel ? `${rel}/${name}` : name;
        let st;
        try {
          st = await lstat(child);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === "ENOENT") continue; // removed since it was listed
          throw err;
        }
        const target = st.isSymbolicLink() ? await readlink(child) : undefined;
        hash.update(JSON.stringify([relPath, st.mode, st.size, st.mtimeMs, target ?? null]) + "\n");
        if (!st.isDirectory()) continue;
        let sub: FileHandle;
        try {
          sub = await openDirectory(child);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          const reason = code === "ELOOP" || code === "ENOTDIR" ? "changed while it was read: it is no longer a directory" : `cannot be read (${code ?? String(err)})`;
          throw new InvalidArgumentError(`host directory ${quote(path)}: ${quote(relPath)} ${reason}`, { cause: err });
        }
        try {
          await walk(sub, relPath);
        } finally {
          await sub.close();
        }
      }
    };
    try {
      await walk(root, "");
    } finally {
      await root.close();
    }
    return "sha256:" + hash.digest("hex");
  }
}

/** Opens a directory without following a symlink in its last component (ELOOP/ENOTDIR instead). */
function openDirectory(path: string): Promise<FileHandle> {
  return open(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
}
