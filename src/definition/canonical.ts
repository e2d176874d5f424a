// Canonical JSON and digests: the same definition gives the same bytes in every process and on every machine.
import { createHash } from "node:crypto";

/** JSON with object keys sorted and `undefined` members dropped; arrays keep their order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member !== undefined) out[key] = sortKeys(member);
    }
    return out;
  }
  return value;
}

/** `sha256:<hex>` of a string or bytes. */
export function sha256Digest(data: string | Uint8Array): string {
  return "sha256:" + createHash("sha256").update(data).digest("hex");
}

/** `sha256:<hex>` over the canonical JSON of a value. */
export function digestOf(value: unknown): string {
  return sha256Digest(canonicalJson(value));
}
