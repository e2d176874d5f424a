// Parsing what a CNI plugin prints, pure: the ADD result (the container's address, its interface's MAC and the
// host-side veth) and the error object.
import { isIP } from "node:net";

/** What the bridge plugin's ADD result says about one attachment: what the hub's port filters are keyed on. */
export interface CniAttachment {
  /** The container's IPv4 address. */
  ip: string;
  /** The container interface's MAC (lowercase), as the plugin set it. */
  mac: string;
  /** The host-side veth in the hub netns: the bridge port. */
  hostVeth: string;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

interface ResultInterface {
  name?: unknown;
  mac?: unknown;
  sandbox?: unknown;
}

/** The error object a plugin prints on stdout when it fails (CNI spec "Error"). */
export interface CniErrorBody {
  code?: number;
  msg: string;
  details?: string;
}

/** The container's first address from an ADD result (`ips[].address` is CIDR notation), or undefined. */
export function resultAddress(stdout: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    return undefined;
  }
  const ips = (parsed as { ips?: unknown } | null)?.ips;
  if (!Array.isArray(ips)) return undefined;
  for (const entry of ips) {
    const address = (entry as { address?: unknown } | null)?.address;
    if (typeof address !== "string") continue;
    const ip = address.split("/")[0] ?? "";
    if (isIP(ip)) return ip;
  }
  return undefined;
}

/**
 * The attachment from a bridge ADD result (CNI 1.0 `interfaces[]` and `ips[]`): the IPv4 entry's interface (the one
 * with a `sandbox`) gives the MAC; the host veth is the entry outside any sandbox that is not the bridge itself.
 * Undefined when any piece is missing or malformed, so nothing unchecked reaches a firewall rule.
 */
export function resultAttachment(stdout: string, bridge: string): CniAttachment | undefined {
  let parsed: { ips?: unknown; interfaces?: unknown } | null;
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch {
    return undefined;
  }
  const ips = parsed?.ips;
  const interfaces = parsed?.interfaces;
  if (!Array.isArray(ips) || !Array.isArray(interfaces)) return undefined;
  const v4 = ips.find((e) => isIP(String((e as { address?: unknown } | null)?.address ?? "").split("/")[0] ?? "") === 4) as
    | { address: string; interface?: unknown }
    | undefined;
  if (!v4 || typeof v4.interface !== "number") return undefined;
  const inside = interfaces[v4.interface] as ResultInterface | undefined;
  const mac = typeof inside?.mac === "string" ? inside.mac.toLowerCase() : "";
  if (typeof inside?.sandbox !== "string" || !inside.sandbox || !MAC.test(mac)) return undefined;
  const hosts = (interfaces as (ResultInterface | null)[]).filter(
    (e) => e && !e.sandbox && typeof e.name === "string" && e.name !== bridge && IFNAME.test(e.name),
  );
  if (hosts.length !== 1) return undefined;
  return { ip: v4.address.split("/")[0]!, mac, hostVeth: hosts[0]!.name as string };
}

/** The plugin's error object, when stdout holds one. */
export function parseCniError(stdout: string): CniErrorBody | undefined {
  try {
    const parsed = JSON.parse(stdout) as { code?: unknown; msg?: unknown; details?: unknown } | null;
    if (!parsed || typeof parsed.msg !== "string") return undefined;
    return {
      msg: parsed.msg,
      ...(typeof parsed.code === "number" ? { code: parsed.code } : {}),
      ...(typeof parsed.details === "string" && parsed.details ? { details: parsed.details } : {}),
    };
  } catch {
    return undefined;
  }
}
