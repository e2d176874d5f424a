// The public API's door.
export { configureDag, connect, dag } from "./connect.js";
export type { ConnectOptions } from "./connect-options.js";
export { Client } from "./client.js";
export { Service, type EndpointOptions, type LogsOptions, type ServicePort, type UpOptions } from "./service.js";
export { UpHandle, type UpPortMapping } from "./up-handle.js";
export { Container, type AsServiceOptions, type WithExecOptions, type WithExposedPortOptions, type WithHealthcheckOptions, type WithMountedCacheOptions, type WithMountedDirectoryOptions, type WithNewFileOptions } from "./container.js";
export { ContainerFile } from "./file.js";
export { CacheVolume } from "./cache-volume.js";
export { Directory } from "./directory.js";
export { Host, type HostServiceOptions, type HostServicePortOptions } from "./host.js";
