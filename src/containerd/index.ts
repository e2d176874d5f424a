// The containerd layer's only public door: the typed gRPC client, its errors mapping and Any helpers, and the proto
// registry (which the daemon's own API is loaded with too).
export { ContainerdClient, assertIdentifier, type ContainerdClientOptions, type LeaseScopeOptions, type PendingLease } from "./containerd-client.js";
export type { CallOptions } from "./connection.js";
export { ProtoRegistry, type ProtoTree } from "./proto-registry.js";
export { WRITE_CHUNK_BYTES, assertDigest, type WriteContentRequestOptions, type WriteContentResult } from "./content-writer.js";
export type { ContainerdEvent, SubscribeOptions } from "./event-stream.js";
export { TYPE_URL, jsonAny, timestampToDate, type AnyValue } from "./any-value.js";
export { mapGrpcError, type GrpcErrorContext } from "./grpc-error.js";
export type * from "./service-facade.js";
export type * from "./message-types.js";
export {
  retryWhileUnavailable,
  isUnavailable,
  DEFAULT_RETRY_BUDGET_MS,
  type RetryOptions,
  type RetryClock,
} from "./unavailable-retry.js";
export { callTimeoutMs, DEFAULT_CALL_TIMEOUT_MS, SLOW_CALL_TIMEOUT_MS, type CallDeadlines } from "./call-deadline.js";
