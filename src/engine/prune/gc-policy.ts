// The automatic build-cache policy and its knobs. Defaults follow BuildKit's: keep 10 % of the disk (2 GB when its
// size is unknown) and drop what no session used for 60 days (BuildKit's `unused-for=1440h` rule).
//
//   SVCD_CACHE_KEEP_STORAGE  bytes, or a size with a unit: 500MB, 10GB, 2GiB ("0" keeps nothing unused)
//   SVCD_CACHE_MAX_AGE       milliseconds, or a duration with a unit: 90s, 30m, 48h, 60d
import { statfsSync } from "node:fs";
import { InvalidArgumentError } from "../../common/errors.js";
import type { GcPolicy } from "./selection.js";

export const DEFAULT_MAX_AGE_MS = 60 * 24 * 60 * 60 * 1000;
/** BuildKit's fallback when the disk's size is unknown. */
export const FALLBACK_KEEP_STORAGE_BYTES = 2e9;

const SIZE_UNITS: Record<string, number> = {
  "": 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12,
  kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40,
};
const DURATION_UNITS: Record<string, number> = { "": 1, ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 };

/** A byte count such as "1048576", "500MB" or "2GiB". */
export function parseSize(text: string, what: string): number {
  return parseQuantity(text, SIZE_UNITS, what, "a byte count such as 10GB, 512MiB or 1000000");
}

/** A duration such as "3600000", "90s", "48h" or "60d", in milliseconds. */
export function parseDuration(text: string, what: string): number {
  return parseQuantity(text, DURATION_UNITS, what, "milliseconds or a duration such as 90s, 30m, 48h or 60d");
}

/** The policy from the environment, with defaults measured on the disk that holds `dir`. */
export function gcPolicyFromEnv(env: NodeJS.ProcessEnv, dir: string): GcPolicy {
  const keep = env.SVCD_CACHE_KEEP_STORAGE;
  const age = env.SVCD_CACHE_MAX_AGE;
  return {
    keepStorageBytes: keep ? parseSize(keep, "SVCD_CACHE_KEEP_STORAGE") : defaultKeepStorage(dir),
    maxAgeMs: age ? parseDuration(age, "SVCD_CACHE_MAX_AGE") : DEFAULT_MAX_AGE_MS,
  };
}

/** 10 % of the filesystem holding `dir` (or its nearest existing ancestor). */
export function defaultKeepStorage(dir: string): number {
  for (let d = dir; ; d = d.slice(0, Math.max(d.lastIndexOf("/"), 1))) {
    try {
      const fs = statfsSync(d);
      return Math.floor((fs.blocks * fs.bsize) / 10);
    } catch {
      if (d === "/") return FALLBACK_KEEP_STORAGE_BYTES;
    }
  }
}

function parseQuantity(text: string, units: Record<string, number>, what: string, hint: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(text);
  const unit = m ? units[m[2]!.toLowerCase()] : undefined;
  const value = m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!Number.isSafeInteger(value)) throw new InvalidArgumentError(`${what}=${JSON.stringify(text)} is not valid: give ${hint}`);
  return value;
}
