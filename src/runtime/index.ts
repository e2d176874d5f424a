// The runtime layer's public door: OCI specs, containers + tasks, process IO, exec, reading snapshot files.
export * from "./spec.js";
export * from "./spec-opts.js";
export { ALL_CAPABILITIES, capabilityMask, hostRootCapabilities, defaultSeccompProfile, DENIED_SYSCALLS, PING_GROUP_RANGE } from "./confinement/index.js";
export * from "./user.js";
export { OutputBuffer, DEFAULT_OUTPUT_CAP } from "./output-buffer.js";
export { ProcessIO, type OutputOptions, type ProcessIOOptions, type StdioPaths } from "./process-io.js";
export { createFifos, removeFifos, type FifoSet } from "./fifo.js";
export type { RuntimeClient, RuntimeMount, ContainerRecord, CallOptions } from "./containerd-port.js";
export {
  RunningTask,
  ExecProcess,
  signalNumber,
  execProcessSpec,
  type ExecOptions,
  type ProcessExit,
  type ProcessResult,
  type SignalLike,
} from "./task.js";
export {
  startContainer,
  runContainer,
  containerSpec,
  RUNC_RUNTIME,
  DEFAULT_SNAPSHOTTER,
  KIND_CONTAINER,
  type ContainerImage,
  type StartContainerOptions,
} from "./container.js";
export { readSnapshotFiles, readSnapshotFile, resolveImageUser, parseFileFrames, type SnapshotReadOptions } from "./snapshot-file.js";
