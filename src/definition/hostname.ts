// Content-addressed hostnames (DESIGN.md §3): the same definition digest gives the same 13-character DNS label in
// every session and process.
import { createHash } from "node:crypto";

const BASE32HEX = "0123456789abcdefghijklmnopqrstuv";

/** RFC 4648 base32hex, lowercase, without padding. */
export function base32hex(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32HEX[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32HEX[(buffer << (5 - bits)) & 31];
  return out;
}

/** The label for a digest string (or a session/module id): base32hex of the first 8 bytes of its SHA-256. */
export function hostHash(value: string): string {
  return base32hex(createHash("sha256").update(value, "utf8").digest().subarray(0, 8));
}
