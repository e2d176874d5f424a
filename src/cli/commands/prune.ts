// `svc prune [--keep-storage SIZE] [--older-than DURATION] [--all]`: removes build cache (and old service logs) no
// live session uses, through the daemon when one answers, else an embedded engine (DESIGN.md §2 client.prune).
import { connect } from "../../api/index.js";
import { UsageError } from "../exit-codes.js";
import { printText } from "../call/print-result.js";
import { formatBytes } from "../progress.js";

const UNITS: Record<string, number> = { "": 1, b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3, t: 1e12, tb: 1e12, tib: 1024 ** 4 };

/** `10GB`, `512MiB`, `1g`, `1048576` → bytes (as docker's --keep-storage reads them). */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new UsageError(`--keep-storage ${JSON.stringify(text)}: use a size such as 10GB, 512MiB or 1048576`);
  return Math.floor(Number(m[1]) * unit);
}

const DURATION: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 };

/** `30m`, `12h`, `7d` → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+)\s*([smhd])\s*$/i.exec(text);
  if (!m) throw new UsageError(`--older-than ${JSON.stringify(text)}: use a duration such as 30m, 12h or 7d`);
  return Number(m[1]) * DURATION[m[2]!.toLowerCase()]!;
}

export async function prune(opts: { keepStorage?: string; olderThan?: string; all: boolean; json: boolean }): Promise<number> {
  const options = {
    ...(opts.keepStorage !== undefined ? { keepStorageBytes: parseSize(opts.keepStorage) } : {}),
    ...(opts.olderThan !== undefined ? { olderThanMs: parseDuration(opts.olderThan) } : {}),
    ...(opts.all ? { all: true } : {}),
  };
  const client = await connect();
  try {
    const result = await client.prune(options);
    printText(opts.json ? JSON.stringify(result) : `removed ${result.removed} (freed ${formatBytes(result.freedBytes)})`);
    return 0;
  } finally {
    await client.close();
  }
}
