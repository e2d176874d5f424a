// The engine layer's public door: creating an embedded engine for a session.
export { createEngine, DEFAULT_NAMESPACE, type EngineOptions } from "./create-engine.js";
export type { EmbeddedEngine } from "./embedded-engine.js";
export type { HostAdapter } from "./host-adapter.js";
export { pruneServiceLogs, type PruneServiceLogsOptions } from "./services/service-logs.js";
