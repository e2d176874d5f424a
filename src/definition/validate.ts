// Validation of every value a builder accepts, so hostile input fails at the call that took it. Each error names
// the parameter and (JSON-quoted, so a newline or NUL cannot forge a log line) the value.
import { InvalidArgumentError } from "../common/errors.js";
import { quote } from "../common/quote.js";

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
// C0 controls and DEL: never wanted in an id that reaches labels, names or log lines.
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * The largest `withNewFile` contents or `withExec` stdin, in UTF-8 bytes. A definition travels whole in one message
 * (to the daemon, like containerd's, capped at 16 MiB) and is copied by every builder call; bigger data belongs in a
 * host directory or a cache volume.
 */
export const MAX_INLINE_BYTES = 8 * 1024 * 1024;

export { quote };

export function assertString(value: unknown, what: string): asserts value is string {
  if (typeof value !== "string") throw new InvalidArgumentError(`${what} must be a string, got ${typeof value}`);
  if (value.includes("\0")) throw new InvalidArgumentError(`${what} ${quote(value)} must not contain a NUL byte`);
}

/** An id (session, module, …): a non-empty string of at most `max` characters without control characters. */
export function assertId(value: unknown, what: string, max = 128): asserts value is string {
  assertString(value, what);
  if (value === "" || value.length > max || CONTROL.test(value)) {
    throw new InvalidArgumentError(`invalid ${what} ${quote(value)}: use 1 to ${max} characters, no control characters`);
  }
}

/** Inline data (file contents, stdin): a string of at most MAX_INLINE_BYTES. */
export function assertInlineData(value: unknown, what: string): asserts value is string {
  assertString(value, what);
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes > MAX_INLINE_BYTES) {
    throw new InvalidArgumentError(
      `${what} is ${bytes} bytes, more than the ${MAX_INLINE_BYTES} allowed inline: mount the data from a host directory or a cache volume instead`,
    );
  }
}

/**
 * The longest single argument or `NAME=value` environment entry, in UTF-8 bytes: Linux's MAX_ARG_STRLEN (128 KiB
 * with the NUL). A longer one fails execve with E2BIG only after a container was made; the total of all of them is
 * bounded by ARG_MAX (a quarter of the stack limit, 2 MiB by default) and still fails at exec time.
 */
export const MAX_ARG_BYTES = 128 * 1024 - 1;

function assertArgLength(value: string, what: string): void {
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes > MAX_ARG_BYTES) throw new InvalidArgumentError(`${what} is ${bytes} bytes, more than the ${MAX_ARG_BYTES} a process argument may have: pass the data in a file (withNewFile) or stdin`);
}

export function assertArgs(args: unknown, what: string): asserts args is string[] {
  if (!Array.isArray(args)) throw new InvalidArgumentError(`${what} must be an array of strings`);
  args.forEach((a, i) => {
    assertString(a, `${what}[${i}]`);
    assertArgLength(a, `${what}[${i}]`);
  });
}

/** An environment variable's value: no NUL, and `NAME=value` within MAX_ARG_BYTES. */
export function assertEnvValue(name: string, value: unknown): asserts value is string {
  assertString(value, `value of ${name}`);
  assertArgLength(`${name}=${value}`, `environment entry ${name}=…`);
}

/** An options argument: absent, or a plain object (a `null` or a string would fail later with a TypeError). */
export function assertOptions(value: unknown, what: string): asserts value is Record<string, unknown> | undefined {
  if (value !== undefined && (typeof value !== "object" || value === null || Array.isArray(value))) {
    throw new InvalidArgumentError(`${what} must be an options object, got ${value === null ? "null" : typeof value}`);
  }
}

/** The `{ signal }` every evaluating call takes: an options object whose signal, if any, is an AbortSignal. */
export function assertCallOptions(value: unknown, what: string): void {
  assertOptions(value, what);
  const signal = value?.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidArgumentError(`${what}: signal must be an AbortSignal, got ${quote(signal)}`);
}

/** An optional boolean option: a string "false" would otherwise count as true. */
export function assertOptionalBoolean(value: unknown, what: string): asserts value is boolean | undefined {
  if (value !== undefined && typeof value !== "boolean") throw new InvalidArgumentError(`${what} must be true or false, got ${quote(value)}`);
}

/** One of a closed set of strings. */
export function assertOneOf<T extends string>(value: unknown, allowed: readonly T[], what: string): asserts value is T {
  if (!allowed.includes(value as T)) throw new InvalidArgumentError(`invalid ${what} ${quote(value)}: use ${allowed.map((a) => JSON.stringify(a)).join(", ")}`);
}

export function assertEnvName(name: unknown): asserts name is string {
  assertString(name, "environment variable name");
  if (!ENV_NAME.test(name)) {
    throw new InvalidArgumentError(`invalid environment variable name ${quote(name)}: use letters, digits and _`);
  }
}

/** A DNS label (lowercase letters, digits, inner hyphens, ≤ 63 chars): the only thing allowed into a hosts file. */
export function assertDnsLabel(name: unknown, what: string): asserts name is string {
  assertString(name, what);
  if (!DNS_LABEL.test(name)) {
    throw new InvalidArgumentError(
      `invalid ${what} ${quote(name)}: use a DNS label (a-z, 0-9 and inner '-', at most 63 characters)`,
    );
  }
}

export function assertPort(port: unknown, what = "port"): asserts port is number {
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidArgumentError(`invalid ${what} ${quote(port)}: use an integer from 1 to 65535`);
  }
}

export function assertVolumeName(name: unknown): asserts name is string {
  assertString(name, "cache volume name");
  if (!VOLUME_NAME.test(name)) {
    throw new InvalidArgumentError(
      `invalid cache volume name ${quote(name)}: use letters, digits, '.', '_' and '-' (at most 128)`,
    );
  }
}

export function assertFileMode(mode: unknown): asserts mode is number {
  if (typeof mode !== "number" || !Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new InvalidArgumentError(`invalid permissions ${quote(mode)}: use a numeric mode such as 0o644`);
  }
}

/** `logs()` options: `follow` a boolean, `tail` a non-negative integer. */
export function assertLogsOptions(value: unknown, what: string): void {
  assertOptions(value, what);
  assertOptionalBoolean(value?.follow, `${what}: follow`);
  const tail = value?.tail;
  if (tail !== undefined && (typeof tail !== "number" || !Number.isSafeInteger(tail) || tail < 0)) {
    throw new InvalidArgumentError(`${what}: tail must be a non-negative integer (a number of lines), got ${quote(tail)}`);
  }
}
