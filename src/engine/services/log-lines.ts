// A service log's bytes as lines, for `logs()`: a splitter for chunks (UTF-8 safe across chunk boundaries; "\n" ends a
// line; an unterminated last line is held apart until it ends or the log does) and where the last N lines of a log
// start, found by scanning backwards so a tail never reads the whole log. Pure: the reader does the I/O.
import { StringDecoder } from "node:string_decoder";

/**
 * A line longer than this is split into pieces of this many characters (counted from the line's start, so a line
 * splits the same however its bytes arrive): a service that never prints a newline must not grow a reader's memory
 * without bound.
 */
export const MAX_LOG_LINE_CHARS = 64 * 1024;

/** Largest batch `batchLines` makes, in characters: what one daemon message carries at most (one long line aside). */
export const MAX_BATCH_CHARS = 256 * 1024;

export class LineSplitter {
  readonly #decoder = new StringDecoder("utf8");
  readonly #max: number;
  #partial = "";
  /** Bytes since the last "\n": an unterminated line (or the start of one's first character) is held. */
  #unterminated = false;

  constructor(maxLineChars = MAX_LOG_LINE_CHARS) {
    this.#max = Math.max(2, maxLineChars);
  }

  /** The lines `chunk` completes (without their "\n"), and pieces of an over-long unterminated one. */
  push(chunk: Buffer): string[] {
    // StringDecoder keeps an incomplete UTF-8 sequence back until the next chunk completes it.
    const text = this.#partial + this.#decoder.write(chunk);
    if (chunk.length > 0) this.#unterminated = chunk[chunk.length - 1] !== 0x0a;
    const out: string[] = [];
    let start = 0;
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
      this.#pieces(text.slice(start, nl), out, true);
      start = nl + 1;
    }
    this.#partial = this.#pieces(text.slice(start), out, false);
    return out;
  }

  /** True while an unterminated line is held (what `end()` would return). */
  get pending(): boolean {
    return this.#unterminated;
  }

  /** The unterminated last line, if any (an incomplete character becomes U+FFFD); the splitter is empty after. */
  end(): string[] {
    const rest = this.#partial + this.#decoder.end();
    this.#partial = "";
    this.#unterminated = false;
    return rest === "" ? [] : [rest];
  }

  /** Pushes the pieces of `line` longer than the limit; a terminated line's last piece too, else returns it. */
  #pieces(line: string, out: string[], terminated: boolean): string {
    let rest = line;
    while (rest.length > this.#max) {
      // Never between the two halves of a surrogate pair.
      const cut = isHighSurrogate(rest.charCodeAt(this.#max - 1)) ? this.#max - 1 : this.#max;
      out.push(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
    if (terminated) {
      out.push(rest);
      return "";
    }
    return rest;
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Reads `length` bytes at `position` of a log seen as one byte sequence (its rotated part, then its current file). */
export type ReadAt = (position: number, length: number) => Promise<Buffer>;

/**
 * Where the last `n` lines of a `size`-byte log start: reading from there yields them (split pieces of a long line
 * count apart, so keep the last n of what is read). A final "\n" ends the last line; an unterminated last line counts
 * as one. `n` = 0: the end.
 */
export async function tailStart(readAt: ReadAt, size: number, n: number, chunkBytes = 64 * 1024): Promise<number> {
  if (n <= 0) return size;
  let seen = 0;
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - chunkBytes);
    const buf = await readAt(start, end - start);
    for (let i = buf.length - 1; i >= 0; i--) {
      // The last byte's "\n" ends the last line; it does not start an empty one after it.
      if (buf[i] !== 0x0a || start + i === size - 1) continue;
      if (++seen === n) return start + i + 1;
    }
    end = start;
  }
  return 0;
}

/** `lines` in consecutive batches of at most `maxChars` characters each (a longer line is a batch of its own). */
export function batchLines(lines: readonly string[], maxChars = MAX_BATCH_CHARS): string[][] {
  const batches: string[][] = [];
  let batch: string[] = [];
  let chars = 0;
  for (const line of lines) {
    if (batch.length > 0 && chars + line.length > maxChars) {
      batches.push(batch);
      batch = [];
      chars = 0;
    }
    batch.push(line);
    chars += line.length + 1;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}
