// Parsing what a CNI plugin prints, pure: the ADD result (the container's address) and the error object.
import { isIP } from "node:net";

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
