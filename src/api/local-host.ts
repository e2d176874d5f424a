// The host adapter for an engine running in the caller's own process: host-side work done right here.
import { lstat, opendir } from "node:fs/promises";
import { createServer, isIPv6, type Server } from "node:net";
import { createSocket, type Socket as DatagramSocket } from "node:dgram";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { InvalidArgumentError, throwIfAborted } from "../common/errors.js";
import type { HostAdapter } from "../engine/index.js";

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
          reject(new InvalidArgumentError(`not allowed to listen on ${address}:${port} (ports below 1024 need privileges)`, { cause: err }));
        } else reject(err);
      });
      server.listen({ host: address, port, exclusive: true }, () => resolve(server));
    });
  }

  /** Digest of each entry's relative path, type, mode, size and mtime, in sorted order; contents are not read. */
  async directoryDigest(path: string, signal?: AbortSignal): Promise<string> {
    let root;
    try {
      root = await lstat(path);
    } catch (err) {
      throw new InvalidArgumentError(`host directory ${path} cannot be read: ${(err as Error).message}`, { cause: err });
    }
    if (!root.isDirectory()) throw new InvalidArgumentError(`host path ${path} is not a directory`);
    const hash = createHash("sha256");
    const walk = async (dir: string, rel: string): Promise<void> => {
      throwIfAborted(signal);
      const names: string[] = [];
      for await (const entry of await opendir(dir)) names.push(entry.name);
      names.sort();
      for (const name of names) {
        const full = join(dir, name);
        const st = await lstat(full);
        const relPath = rel ? `${rel}/${name}` : name;
        hash.update(`${relPath}\0${st.mode}\0${st.size}\0${st.mtimeMs}\n`);
        if (st.isDirectory()) await walk(full, relPath);
      }
    };
    await walk(path, "");
    return "sha256:" + hash.digest("hex");
  }
}
