// The runnable parts of an image config blob (what a container inherits), plus the diffIDs unpack checks against.
import { ImageError } from "../common/errors.js";
import { isValidDigest } from "./manifest.js";

/** The `config` object of an OCI/Docker image config: defaults a container starts with. */
export interface OciImageConfig {
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Volumes?: Record<string, Record<string, never>>;
  Healthcheck?: OciHealthcheck;
}

/**
 * The image's HEALTHCHECK as Docker writes it into the config: `Test` is `["CMD", arg…]`, `["CMD-SHELL", "cmd"]` or
 * `["NONE"]` (an empty one inherits, which for a final image means none); durations are nanoseconds and 0 means
 * Docker's default. Kept as written (fields of the wrong type dropped); the engine turns it into a command.
 */
export interface OciHealthcheck {
  Test: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** A parsed config blob: the container defaults, the uncompressed layer digests and the platform. */
export interface ParsedImageConfig {
  config: OciImageConfig;
  diffIds: string[];
  os: string;
  architecture: string;
}

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((s) => typeof s === "string") ? (v as string[]) : undefined;
}

function healthcheck(v: unknown): OciHealthcheck | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const raw = v as Record<string, unknown>;
  const test = strings(raw.Test);
  if (!test) return undefined;
  const out: OciHealthcheck = { Test: [...test] };
  for (const field of ["Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"] as const) {
    const n = raw[field];
    if (typeof n === "number" && Number.isSafeInteger(n) && n >= 0) out[field] = n;
  }
  return out;
}

function keys(v: unknown): Record<string, Record<string, never>> | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const out: Record<string, Record<string, never>> = {};
  for (const k of Object.keys(v)) out[k] = {};
  return out;
}

/** Parses and validates a config blob. */
export function parseImageConfig(body: Buffer, ref: string): ParsedImageConfig {
  let json: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(body.toString("utf8"));
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new TypeError("not an object");
    json = parsed as Record<string, unknown>;
  } catch (err) {
    throw new ImageError("INTERNAL", ref, `image ${ref}: config is not a JSON object`, { cause: err });
  }
  const rootfs = json.rootfs as Record<string, unknown> | undefined;
  const diffIds = strings(rootfs?.diff_ids);
  if (!diffIds || !diffIds.every(isValidDigest)) throw new ImageError("INTERNAL", ref, `image ${ref}: config has no valid rootfs.diff_ids`);
  const raw = (typeof json.config === "object" && json.config !== null ? json.config : {}) as Record<string, unknown>;
  const config: OciImageConfig = {};
  const env = strings(raw.Env);
  if (env) config.Env = env;
  const entrypoint = strings(raw.Entrypoint);
  if (entrypoint) config.Entrypoint = entrypoint;
  const cmd = strings(raw.Cmd);
  if (cmd) config.Cmd = cmd;
  if (typeof raw.WorkingDir === "string" && raw.WorkingDir !== "") config.WorkingDir = raw.WorkingDir;
  if (typeof raw.User === "string" && raw.User !== "") config.User = raw.User;
  const ports = keys(raw.ExposedPorts);
  if (ports) config.ExposedPorts = ports;
  const volumes = keys(raw.Volumes);
  if (volumes) config.Volumes = volumes;
  if (typeof raw.StopSignal === "string" && raw.StopSignal !== "") config.StopSignal = raw.StopSignal;
  const check = healthcheck(raw.Healthcheck);
  if (check) config.Healthcheck = check;
  if (typeof raw.Labels === "object" && raw.Labels !== null) {
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw.Labels)) if (typeof v === "string") labels[k] = v;
    config.Labels = labels;
  }
  return {
    config,
    diffIds,
    os: typeof json.os === "string" ? json.os : "",
    architecture: typeof json.architecture === "string" ? json.architecture : "",
  };
}
