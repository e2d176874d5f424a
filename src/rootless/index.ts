// The rootless layer's public door: choosing a containerd and managing svcd's own.
export {
  resolveContainerd,
  runningContainerdAddresses,
  SYSTEM_CONTAINERD_ADDRESS,
  type ContainerdEndpoint,
  type ContainerdEndpointOptions,
  type ContainerdSource,
} from "./containerd-endpoint.js";
export {
  ensureManagedContainerd,
  stopManagedContainerd,
  managedPids,
  checkBinaries,
  INSTALL_HINT,
  type ManagedContainerd,
  type ManagedContainerdOptions,
  type StopManagedContainerdOptions,
} from "./managed-containerd.js";
export { answers, clientProbe, ctrProbe, type ContainerdProbe } from "./containerd-probe.js";
export { checkSocketPath, renderContainerdConfig, MAX_SOCKET_PATH_BYTES } from "./containerd-config.js";
export { SUPERVISOR_PROGRAM } from "./containerd-supervisor.js";
export { DEFAULT_LOG_MAX_BYTES, rotatedLogPath } from "./capped-log.js";
export { ensureRootlessContainerd, claimRuntimeRoot, userNamespaceRunner, type RootlessContainerd, type RootlessContainerdOptions } from "./rootless-containerd.js";
export { NamespaceRunner } from "./namespace-runner.js";
export { checkRootlessPrerequisites, findOnPath, rootlessPrerequisiteProblems, subIdRanges, MIN_SUBID_COUNT } from "./prerequisites.js";
