// svcd errors across the daemon's wire: the code, the class name, the message and the class's own fields travel
// (a Failure message); the client rebuilds the same class, so callers branch on `code` and `instanceof` as they do
// with an embedded engine. Anything that is not a svcd error arrives as InternalError with its message.
import {
  AlreadyExistsError,
  CancelledError,
  EngineUnavailableError,
  ExecError,
  ImageError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  ServiceError,
  SvcdError,
  TimeoutError,
  type ErrorCode,
  type ImageErrorCode,
} from "../common/errors.js";

export interface WireFailure {
  code: string;
  name: string;
  message: string;
  details_json: string;
}

export function failureOf(err: unknown): WireFailure {
  if (!SvcdError.is(err)) {
    const message = err instanceof Error ? err.message : String(err);
    return { code: "INTERNAL", name: "InternalError", message: `svcd daemon: ${message}`, details_json: "{}" };
  }
  const details: Record<string, unknown> = {};
  if (err instanceof ExecError) Object.assign(details, { command: err.command, exitCode: err.exitCode, stdout: err.stdout, stderr: err.stderr });
  else if (err instanceof ServiceError) Object.assign(details, { service: err.service, exitCode: err.exitCode, logs: err.logs });
  else if (err instanceof ImageError) details.reference = err.reference;
  if (err.cause instanceof Error) details.cause = err.cause.message;
  return { code: err.code, name: err.name, message: err.message, details_json: JSON.stringify(details) };
}

const CODES = new Set<ErrorCode>(["INVALID_ARGUMENT", "NOT_FOUND", "ALREADY_EXISTS", "UNAVAILABLE", "UNAUTHORIZED", "DIGEST_MISMATCH", "EXEC_FAILED", "SERVICE_FAILED", "TIMEOUT", "CANCELLED", "INTERNAL"]);

export function errorOf(failure: WireFailure): SvcdError {
  let details: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(failure.details_json || "{}");
    if (typeof parsed === "object" && parsed !== null) details = parsed as Record<string, unknown>;
  } catch {
    // details are an extra: the message and code still arrive
  }
  const options = typeof details.cause === "string" ? { cause: new Error(details.cause) } : {};
  const str = (v: unknown) => (typeof v === "string" ? v : "");
  const code = CODES.has(failure.code as ErrorCode) ? (failure.code as ErrorCode) : "INTERNAL";
  let err: SvcdError;
  switch (failure.name) {
    case "ExecError":
      err = new ExecError(
        { command: Array.isArray(details.command) ? details.command.map(String) : [], exitCode: Number(details.exitCode ?? -1), stdout: str(details.stdout), stderr: str(details.stderr) },
        options,
      );
      break;
    case "ServiceError":
      err = new ServiceError({ service: str(details.service), reason: "", ...(typeof details.exitCode === "number" ? { exitCode: details.exitCode } : {}), logs: str(details.logs) }, options);
      break;
    case "ImageError":
      err = new ImageError(code as ImageErrorCode, str(details.reference), failure.message, options);
      break;
    case "InvalidArgumentError":
      err = new InvalidArgumentError(failure.message, options);
      break;
    case "NotFoundError":
      err = new NotFoundError(failure.message, options);
      break;
    case "AlreadyExistsError":
      err = new AlreadyExistsError(failure.message, options);
      break;
    case "EngineUnavailableError":
      err = new EngineUnavailableError(failure.message, options);
      break;
    case "TimeoutError":
      err = new TimeoutError(failure.message, options);
      break;
    case "CancelledError":
      err = new CancelledError(failure.message, options);
      break;
    default:
      err = new InternalError(failure.message, options);
  }
  err.message = failure.message;
  return err;
}

/** A failure as a unary call's status: the WireFailure travels as JSON in the status details. */
export function unaryFailure(err: unknown): { code: number; details: string } {
  const failure = failureOf(err);
  const code = failure.code === "NOT_FOUND" ? 5 : failure.code === "INVALID_ARGUMENT" ? 3 : 2; // grpc NOT_FOUND / INVALID_ARGUMENT / UNKNOWN
  return { code, details: JSON.stringify(failure) };
}

/** The svcd error a unary call's failure status carries, or undefined when it carries none (transport errors). */
export function errorOfUnary(details: string | undefined): SvcdError | undefined {
  if (!details?.startsWith("{")) return undefined;
  try {
    const failure = JSON.parse(details) as Partial<WireFailure>;
    if (typeof failure.code !== "string" || typeof failure.message !== "string") return undefined;
    return errorOf({ code: failure.code, name: failure.name ?? "", message: failure.message, details_json: failure.details_json ?? "{}" });
  } catch {
    return undefined;
  }
}
