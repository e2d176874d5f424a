// Collects a stream's bytes up to a cap, keeping the tail: a process that prints gigabytes costs at most `cap`
// bytes of memory, and what is kept is the end of its output (where errors are).

/** Default cap per stream: 64 MiB. */
export const DEFAULT_OUTPUT_CAP = 64 * 1024 * 1024;

/** The bytes of one stream, keeping at most `cap` of the most recent ones. */
export class OutputBuffer {
  readonly cap: number;
  private chunks: Buffer[] = [];
  private kept = 0;
  /** Every byte ever pushed, kept or not. */
  total = 0;

  constructor(cap: number = DEFAULT_OUTPUT_CAP) {
    if (!Number.isInteger(cap) || cap < 0) throw new RangeError(`output cap must be a non-negative integer, got ${cap}`);
    this.cap = cap;
  }

  push(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.cap === 0 || chunk.length === 0) return;
    if (chunk.length >= this.cap) {
      this.chunks = [chunk.subarray(chunk.length - this.cap)];
      this.kept = this.cap;
      return;
    }
    this.chunks.push(chunk);
    this.kept += chunk.length;
    // Drop whole chunks from the front while the rest still fills the cap; trim the last one only on read.
    while (this.chunks.length > 1 && this.kept - (this.chunks[0] as Buffer).length >= this.cap) {
      this.kept -= (this.chunks.shift() as Buffer).length;
    }
  }

  /** True when bytes were dropped from the front. */
  get truncated(): boolean {
    return this.total > Math.min(this.kept, this.cap);
  }

  /** The kept tail, at most `cap` bytes. */
  contents(): Buffer {
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.kept);
    if (this.chunks.length > 1) this.chunks = [all];
    return all.length > this.cap ? all.subarray(all.length - this.cap) : all;
  }
}
