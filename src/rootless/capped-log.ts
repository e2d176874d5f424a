// containerd's log as the supervisor writes it: appended, but never more than `maxBytes` in the live file. When a
// write would pass the cap, the live file becomes `<path>.1` (replacing the previous one) and a new one starts, so
// the log takes at most twice the cap on disk however long containerd runs or however much it prints.
import { closeSync, fstatSync, openSync, renameSync, writeSync } from "node:fs";
import { InvalidArgumentError } from "../common/errors.js";

/** Default cap of the live log file (the rotated one holds as much again). */
export const DEFAULT_LOG_MAX_BYTES = 8 * 1024 * 1024;

/** The rotated file's name. */
export function rotatedLogPath(path: string): string {
  return `${path}.1`;
}

/** An append-only file with one rotation. Synchronous: its one writer is a small supervisor process. */
export class CappedLog {
  readonly path: string;
  readonly maxBytes: number;
  private fd: number;
  private size: number;

  constructor(path: string, maxBytes: number = DEFAULT_LOG_MAX_BYTES) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1024) {
      throw new InvalidArgumentError(`log cap must be at least 1024 bytes, got ${String(maxBytes)}`);
    }
    this.path = path;
    this.maxBytes = maxBytes;
    this.fd = openSync(path, "a", 0o600);
    this.size = fstatSync(this.fd).size;
  }

  /** Appends `data`; rotates first when it would not fit. A chunk larger than the cap keeps only its tail. */
  write(data: Buffer | string): void {
    let buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    if (buf.length > this.maxBytes) buf = buf.subarray(buf.length - this.maxBytes);
    if (this.size + buf.length > this.maxBytes) this.rotate();
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    this.size += buf.length;
  }

  private rotate(): void {
    closeSync(this.fd);
    renameSync(this.path, rotatedLogPath(this.path));
    this.fd = openSync(this.path, "a", 0o600);
    this.size = 0;
  }

  close(): void {
    closeSync(this.fd);
  }
}
