// The ONE place where a gRPC status from containerd becomes a typed svcd error. Every call and stream of the
// containerd client goes through mapGrpcError; no other layer sees a gRPC status code.
import { status as GrpcStatus } from "@grpc/grpc-js";
import {
  AlreadyExistsError,
  CancelledError,
  EngineUnavailableError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  SvcdError,
  TimeoutError,
} from "../common/errors.js";

/** Extra facts for the message: which socket the call went to. */
export interface GrpcErrorContext {
  socket?: string;
  /** The deadline the call had, named in a DEADLINE_EXCEEDED message. */
  timeoutMs?: number;
}

interface GrpcLikeError {
  code: number;
  details?: string;
  message?: string;
}

function isGrpcError(err: unknown): err is GrpcLikeError {
  return typeof err === "object" && err !== null && typeof (err as { code?: unknown }).code === "number";
}

/** True when `err` carries this gRPC status code (for callers inside src/containerd only). */
export function hasGrpcCode(err: unknown, code: GrpcStatus): boolean {
  return isGrpcError(err) && err.code === code;
}

/** Maps a gRPC error (or anything thrown around a call) to a typed svcd error; `context` names the call. */
export function mapGrpcError(err: unknown, context: string, extra: GrpcErrorContext = {}): SvcdError {
  if (SvcdError.is(err)) return err;
  if (!isGrpcError(err)) {
    const text = err instanceof Error ? err.message : String(err);
    return new InternalError(`${context}: ${text}`, { cause: err });
  }
  const details = err.details || err.message || "no details";
  const opts = { cause: err };
  switch (err.code) {
    case GrpcStatus.NOT_FOUND:
      return new NotFoundError(`${context}: ${details}`, opts);
    case GrpcStatus.ALREADY_EXISTS:
      return new AlreadyExistsError(`${context}: ${details}`, opts);
    case GrpcStatus.INVALID_ARGUMENT:
    case GrpcStatus.FAILED_PRECONDITION:
    case GrpcStatus.OUT_OF_RANGE:
      return new InvalidArgumentError(`${context}: ${details}`, opts);
    case GrpcStatus.DEADLINE_EXCEEDED: {
      const within = extra.timeoutMs !== undefined ? ` within ${extra.timeoutMs} ms` : "";
      const where = extra.socket ? ` at ${extra.socket}` : "";
      return new TimeoutError(`${context}: containerd${where} did not answer${within} (${details})`, opts);
    }
    case GrpcStatus.CANCELLED:
      return new CancelledError(`${context}: cancelled (${details})`, opts);
    case GrpcStatus.UNAVAILABLE: {
      const where = extra.socket ? ` at ${extra.socket}` : "";
      return new EngineUnavailableError(
        `${context}: containerd is not answering${where} (${details}). Install and start it ` +
          "(`apt-get install containerd runc`, then `systemctl start containerd`), or let svcd manage its own " +
          "containerd by not passing a containerd socket.",
        opts,
      );
    }
    default:
      return new InternalError(`${context}: ${GrpcStatus[err.code] ?? err.code}: ${details}`, opts);
  }
}
