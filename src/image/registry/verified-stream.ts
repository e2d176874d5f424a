// Never trust a registry: every byte stream is hashed and counted as it passes, and fails the moment it exceeds
// its size or, at its end, when its digest or length differ. A consumer (Content.Write) only commits after the
// last chunk, so bad bytes are never committed.
import { createHash } from "node:crypto";
import { ImageError } from "../../common/errors.js";

/** What a stream must turn out to be. */
export interface ExpectedContent {
  digest: string;
  size: number;
}

function hasher(digest: string) {
  const algorithm = digest.slice(0, digest.indexOf(":"));
  if (algorithm !== "sha256" && algorithm !== "sha512") throw new ImageError("INVALID_ARGUMENT", digest, `unsupported digest algorithm ${algorithm}`);
  return createHash(algorithm);
}

/** Yields the chunks of `source` unchanged while checking them against `expected`; `onChunk` sees the running total. */
export async function* verifyStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  expected: ExpectedContent,
  ref: string,
  onChunk?: (current: number) => void,
): AsyncGenerator<Buffer> {
  const hash = hasher(expected.digest);
  let seen = 0;
  for await (const chunk of source) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    seen += buf.length;
    if (seen > expected.size) {
      throw new ImageError("DIGEST_MISMATCH", ref, `image ${ref}: ${expected.digest} is longer than its declared ${expected.size} bytes`);
    }
    hash.update(buf);
    onChunk?.(seen);
    yield buf;
  }
  if (seen !== expected.size) {
    throw new ImageError("DIGEST_MISMATCH", ref, `image ${ref}: ${expected.digest} ended after ${seen} of ${expected.size} bytes`);
  }
  const actual = `${expected.digest.slice(0, expected.digest.indexOf(":"))}:${hash.digest("hex")}`;
  if (actual !== expected.digest) {
    throw new ImageError("DIGEST_MISMATCH", ref, `image ${ref}: content does not match its digest ${expected.digest} (got ${actual})`);
  }
}

/** Reads a whole (small) verified stream into memory. */
export async function readVerified(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, expected: ExpectedContent, ref: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of verifyStream(source, expected, ref)) parts.push(chunk);
  return Buffer.concat(parts);
}

/** `sha256:<hex>` of a buffer. */
export function sha256Digest(data: Buffer): string {
  return "sha256:" + createHash("sha256").update(data).digest("hex");
}
