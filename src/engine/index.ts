// The engine layer's public door: embedded engines, and the core + sessions the daemon serves.
export { createEngine, openSession, sessionIdOf, graceOf, DEFAULT_NAMESPACE, type EngineOptions, type SessionOptions } from "./create-engine.js";
export { openEngineCore, engineMode, assertNamespace, type EngineCore, type EngineCoreOptions } from "./engine-core.js";
export { runAsCaller, currentCaller, type Caller } from "./caller.js";
export type { EmbeddedEngine } from "./embedded-engine.js";
export type { HostAdapter } from "./host-adapter.js";
export { pruneServiceLogs, type PruneServiceLogsOptions } from "./services/service-logs.js";
export { listEngineServices, listServices, stopEngineService, stopServiceContainer, type ServiceEntry } from "./services/service-listing.js";
export { LocalHost } from "./local-host.js";
export type { EngineWarning } from "./session-resources.js";
export { machineChecks, type MachineCheck } from "./machine-checks.js";
export { followLogFile, listServiceRuns, type FollowLogOptions } from "./services/service-log-follow.js";
export type { ServiceRun } from "./services/service-log-index.js";
