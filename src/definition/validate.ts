// Validation of every value a builder accepts, so hostile input fails at the call that took it.
import { posix } from "node:path";
import { InvalidArgumentError } from "../common/errors.js";

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function assertString(value: unknown, what: string): asserts value is string {
  if (typeof value !== "string") throw new InvalidArgumentError(`${what} must be a string, got ${typeof value}`);
  if (value.includes("\0")) throw new InvalidArgumentError(`${what} must not contain a NUL byte`);
}

export function assertArgs(args: unknown, what: string): asserts args is string[] {
  if (!Array.isArray(args)) throw new InvalidArgumentError(`${what} must be an array of strings`);
  args.forEach((a, i) => assertString(a, `${what}[${i}]`));
}

export function assertEnvName(name: unknown): asserts name is string {
  assertString(name, "environment variable name");
  if (!ENV_NAME.test(name)) {
    throw new InvalidArgumentError(`invalid environment variable name ${JSON.stringify(name)}: use letters, digits and _`);
  }
}

/** A DNS label (lowercase letters, digits, inner hyphens, ≤ 63 chars): the only thing allowed into a hosts file. */
export function assertDnsLabel(name: unknown, what: string): asserts name is string {
  assertString(name, what);
  if (!DNS_LABEL.test(name)) {
    throw new InvalidArgumentError(
      `invalid ${what} ${JSON.stringify(name)}: use a DNS label (a-z, 0-9 and inner '-', at most 63 characters)`,
    );
  }
}

export function assertPort(port: unknown, what = "port"): asserts port is number {
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidArgumentError(`invalid ${what} ${String(port)}: use an integer from 1 to 65535`);
  }
}

export function assertVolumeName(name: unknown): asserts name is string {
  assertString(name, "cache volume name");
  if (!VOLUME_NAME.test(name)) {
    throw new InvalidArgumentError(
      `invalid cache volume name ${JSON.stringify(name)}: use letters, digits, '.', '_' and '-' (at most 128)`,
    );
  }
}

export function assertFileMode(mode: unknown): asserts mode is number {
  if (typeof mode !== "number" || !Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new InvalidArgumentError(`invalid permissions ${String(mode)}: use a numeric mode such as 0o644`);
  }
}

/**
 * Resolves a container path against a working directory. Rejects paths that climb above `/` (`../../etc/shadow`
 * from `/srv`), so no step can name a file outside the container's root.
 */
export function resolveContainerPath(path: unknown, workdir: string, what: string): string {
  assertString(path, what);
  if (path === "") throw new InvalidArgumentError(`${what} must not be empty`);
  const base = path.startsWith("/") ? [] : workdir.split("/").filter(Boolean);
  const parts = [...base];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (parts.length === 0) {
        throw new InvalidArgumentError(`${what} ${JSON.stringify(path)} escapes the container's root filesystem`);
      }
      parts.pop();
      continue;
    }
    parts.push(segment);
  }
  return posix.join("/", ...parts);
}
