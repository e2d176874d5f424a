// Snapshot names for unpacked layers: the OCI chainID, so every image sharing a lower stack shares its snapshots.
import { createHash } from "node:crypto";

/** chainIDs for a list of diffIDs: [d0, H(c0 + " " + d1), H(c1 + " " + d2), …]. */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? diffId : "sha256:" + createHash("sha256").update(`${prev} ${diffId}`).digest("hex"));
  }
  return out;
}
