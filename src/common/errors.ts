// The closed set of errors svcd raises. Every layer wraps with `cause`; callers branch on `code`, never on text.

/** Stable error codes (mirroring gRPC status codes where one fits). */
export type ErrorCode =
  | "INVALID_ARGUMENT"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "UNAVAILABLE"
  | "UNAUTHORIZED"
  | "DIGEST_MISMATCH"
  | "EXEC_FAILED"
  | "SERVICE_FAILED"
  | "TIMEOUT"
  | "CANCELLED"
  | "INTERNAL";

// A registry-wide brand survives two copies of the package in one process, where `instanceof` does not.
const brand = Symbol.for("svcd.error");

export interface SvcdErrorOptions {
  cause?: unknown;
}

/** Base class of every error svcd raises on purpose. */
export class SvcdError extends Error {
  readonly code: ErrorCode;
  readonly [brand] = true;

  constructor(code: ErrorCode, message: string, options: SvcdErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }

  /** True for any svcd error, from this or another copy of the package. */
  static is(value: unknown): value is SvcdError {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }
}

/** A value passed in by the caller is malformed or not allowed (a reference, a path, an alias, a port). */
export class InvalidArgumentError extends SvcdError {
  constructor(message: string, options?: SvcdErrorOptions) {
    super("INVALID_ARGUMENT", message, options);
  }
}

/** Something named does not exist (a container, a snapshot, a content blob). */
export class NotFoundError extends SvcdError {
  constructor(message: string, options?: SvcdErrorOptions) {
    super("NOT_FOUND", message, options);
  }
}

/** Something to be created exists already. */
export class AlreadyExistsError extends SvcdError {
  constructor(message: string, options?: SvcdErrorOptions) {
    super("ALREADY_EXISTS", message, options);
  }
}

/** containerd, runc or another required part is missing or not answering; the message says how to fix it. */
export class EngineUnavailableError extends SvcdError {
  constructor(message: string, options?: SvcdErrorOptions) {
    super("UNAVAILABLE", message, options);
  }
}

export type ImageErrorCode = "NOT_FOUND" | "UNAUTHORIZED" | "DIGEST_MISMATCH" | "INVALID_ARGUMENT" | "UNAVAILABLE" | "INTERNAL";

/** Pulling or unpacking an image failed: not found, unauthorized, bad content. */
export class ImageError extends SvcdError {
  readonly reference: string;
  constructor(code: ImageErrorCode, reference: string, message: string, options?: SvcdErrorOptions) {
    super(code, message, options);
    this.reference = reference;
  }
}

export interface ExecErrorDetails {
  command: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A process exited with a status the caller did not accept. `stdout`/`stderr` are the tails of its output. */
export class ExecError extends SvcdError {
  readonly command: string[];
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  constructor(details: ExecErrorDetails, options?: SvcdErrorOptions) {
    const tail = details.stderr.trim().split("\n").slice(-5).join("\n");
    super(
      "EXEC_FAILED",
      `process ${JSON.stringify(details.command)} exited with code ${details.exitCode}` + (tail ? `: ${tail}` : ""),
      options,
    );
    this.command = details.command;
    this.exitCode = details.exitCode;
    this.stdout = details.stdout;
    this.stderr = details.stderr;
  }
}

export interface ServiceErrorDetails {
  service: string;
  reason: string;
  exitCode?: number;
  logs?: string;
}

/** A service failed its health check, exited, or could not start. `logs` is the tail of its output. */
export class ServiceError extends SvcdError {
  readonly service: string;
  readonly exitCode: number | undefined;
  readonly logs: string;
  constructor(details: ServiceErrorDetails, options?: SvcdErrorOptions) {
    super("SERVICE_FAILED", `service ${details.service}: ${details.reason}`, options);
    this.service = details.service;
    this.exitCode = details.exitCode;
    this.logs = details.logs ?? "";
  }
}

/** A deadline passed. */
export class TimeoutError extends SvcdError {
  constructor(message: string, options?: SvcdErrorOptions) {
    super("TIMEOUT", message, options);
  }
}

/** The caller aborted (AbortSignal) or the session closed. */
export class CancelledError extends SvcdError {
  constructor(message = "operation cancelled", options?: SvcdErrorOptions) {
    super("CANCELLED", message, options);
  }
}

/** A bug or an unexpected answer from a part svcd drives. */
export class InternalError extends SvcdError {
  constructor(message: string, options?: SvcdErrorOptions) {
    super("INTERNAL", message, options);
  }
}

/** Throws CancelledError (with the signal's reason as cause) when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError("operation cancelled", { cause: signal.reason });
}

/** True for a svcd error with this code. */
export function hasCode(err: unknown, code: ErrorCode): err is SvcdError {
  return SvcdError.is(err) && err.code === code;
}

/** Awaits a deletion-like call, treating "it is already gone" (NOT_FOUND) as done. */
export async function ignoreNotFound(work: Promise<unknown>): Promise<void> {
  try {
    await work;
  } catch (err) {
    if (!hasCode(err, "NOT_FOUND")) throw err;
  }
}
