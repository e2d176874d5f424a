// Friendly names for the generated message types other layers use. `X` is what containerd returns (every field
// present); `XInput` is what a request takes (fields optional). Generated from protos/, never hand-written.
export type { Mount__Output as Mount, Mount as MountInput } from "./gen/containerd/types/Mount.js";
export type { Descriptor__Output as Descriptor, Descriptor as DescriptorInput } from "./gen/containerd/types/Descriptor.js";
export type { Platform__Output as Platform } from "./gen/containerd/types/Platform.js";
export type { Timestamp__Output as Timestamp } from "./gen/google/protobuf/Timestamp.js";
export type { Any__Output as Any } from "./gen/google/protobuf/Any.js";
export type { Namespace__Output as Namespace } from "./gen/containerd/services/namespaces/v1/Namespace.js";
export type { Info__Output as ContentInfo } from "./gen/containerd/services/content/v1/Info.js";
export type { Status__Output as ContentStatus } from "./gen/containerd/services/content/v1/Status.js";
export type { Image__Output as Image, Image as ImageInput } from "./gen/containerd/services/images/v1/Image.js";
export type { Info__Output as SnapshotInfo } from "./gen/containerd/services/snapshots/v1/Info.js";
export type { Kind__Output as SnapshotKind } from "./gen/containerd/services/snapshots/v1/Kind.js";
export type { Container__Output as Container, Container as ContainerInput } from "./gen/containerd/services/containers/v1/Container.js";
export type { Process__Output as Process } from "./gen/containerd/v1/types/Process.js";
export type { ProcessInfo__Output as ProcessInfo } from "./gen/containerd/v1/types/ProcessInfo.js";
export type { Status__Output as TaskStatus } from "./gen/containerd/v1/types/Status.js";
export type { Metric__Output as Metric } from "./gen/containerd/types/Metric.js";
export type { CreateTaskRequest } from "./gen/containerd/services/tasks/v1/CreateTaskRequest.js";
export type { ExecProcessRequest } from "./gen/containerd/services/tasks/v1/ExecProcessRequest.js";
export type { WaitResponse__Output as WaitResponse } from "./gen/containerd/services/tasks/v1/WaitResponse.js";
export type { DeleteResponse__Output as DeleteTaskResponse } from "./gen/containerd/services/tasks/v1/DeleteResponse.js";
export type { Lease__Output as Lease } from "./gen/containerd/services/leases/v1/Lease.js";
export type { Resource__Output as LeaseResource } from "./gen/containerd/services/leases/v1/Resource.js";
export type { TaskExit__Output as TaskExitEvent } from "./gen/containerd/events/TaskExit.js";
