// svcd: service containers for TypeScript, on containerd.
export * from "./api/index.js";
export {
  SvcdError,
  InvalidArgumentError,
  NotFoundError,
  AlreadyExistsError,
  EngineUnavailableError,
  ImageError,
  ExecError,
  ServiceError,
  TimeoutError,
  CancelledError,
  InternalError,
  type ErrorCode,
} from "./common/errors.js";
export type { CallOptions, ExecResult, ProgressEvent, CacheSharing, ExpectedStatus, PortProtocol } from "./definition/index.js";
