// Reading a file the engine does not fully control with a byte bound: at most `limit` bytes are ever read.
import { open } from "node:fs/promises";

/** The file's text when it holds at most `limit` bytes; undefined when it is longer (read stops at limit + 1). */
export async function readBounded(path: string, limit: number): Promise<string | undefined> {
  const handle = await open(path, "r");
  try {
    const buf = Buffer.alloc(limit + 1);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await handle.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got > limit ? undefined : buf.subarray(0, got).toString("utf8");
  } finally {
    await handle.close();
  }
}
