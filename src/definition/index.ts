// Plain-JSON definitions, their canonical digests and hostnames, and the engine contract: shared by api, engine and
// daemon, importing nothing but src/common.
export * from "./container-def.js";
export * from "./canonical.js";
export * from "./engine-contract.js";
export * from "./hostname.js";
export * from "./validate.js";
export * from "./container-path.js";
export { assertDialHost } from "../common/dial-host.js";
export * from "./validate-def.js";
export * from "./readiness.js";
