// A read-only view of host-local's lease directory, for reaping and for tests. host-local owns the files and their
// lock; we never write them (release goes through a CNI DEL).
//
// Layout (host-local 1.x): `<dataDir>/<network>/<ip>` per lease, holding `<container id>\r\n<ifname>` (older
// versions: the id alone); plus `lock` and `last_reserved_ip.<range>`, which are not leases.
import { readdir, readFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";

/** One address host-local handed out. */
export interface IpLease {
  ip: string;
  containerId: string;
  ifname?: string;
}

/** Parses a lease file's content, pure: the owning container id and interface. */
export function parseLease(ip: string, content: string): IpLease | undefined {
  const [id, ifname] = content.split(/\r?\n/);
  const containerId = (id ?? "").trim();
  if (!containerId) return undefined;
  return ifname?.trim() ? { ip, containerId, ifname: ifname.trim() } : { ip, containerId };
}

/** Every lease of one network (none when the directory does not exist). */
export async function listLeases(networkDir: string): Promise<IpLease[]> {
  const names = await readdir(networkDir).catch(() => [] as string[]);
  const leases: IpLease[] = [];
  for (const name of names) {
    if (!isIP(name)) continue;
    const content = await readFile(join(networkDir, name), "utf8").catch(() => undefined);
    const lease = content === undefined ? undefined : parseLease(name, content);
    if (lease) leases.push(lease);
  }
  return leases;
}
