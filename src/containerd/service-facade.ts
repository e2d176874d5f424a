// Typed, promisified facades over containerd's services. The method list and the request/response types come
// from the protos (via the generated *Definition types), so nothing here is a hand-written message type.
import type { MethodDefinition } from "@grpc/proto-loader";
import type { ContainersDefinition } from "./gen/containerd/services/containers/v1/Containers.js";
import type { ContentDefinition } from "./gen/containerd/services/content/v1/Content.js";
import type { DiffDefinition } from "./gen/containerd/services/diff/v1/Diff.js";
import type { ImagesDefinition } from "./gen/containerd/services/images/v1/Images.js";
import type { LeasesDefinition } from "./gen/containerd/services/leases/v1/Leases.js";
import type { NamespacesDefinition } from "./gen/containerd/services/namespaces/v1/Namespaces.js";
import type { SnapshotsDefinition } from "./gen/containerd/services/snapshots/v1/Snapshots.js";
import type { TasksDefinition } from "./gen/containerd/services/tasks/v1/Tasks.js";
import type { VersionDefinition } from "./gen/containerd/services/version/v1/Version.js";
import type { CallOptions, CallScope, Connection } from "./connection.js";

// grpc's ServiceDefinition carries a string index signature; keep only the declared method names.
type MethodNames<D> = keyof { [K in keyof D as string extends K ? never : number extends K ? never : K]: D[K] } & string;

/* eslint-disable @typescript-eslint/no-explicit-any -- `any` keeps the unused positions from failing variance */
type RequestOf<M> = M extends MethodDefinition<infer Req, any, any, any> ? Req : never;
type ResponseOf<M> = M extends MethodDefinition<any, any, any, infer Res> ? Res : never;

/**
 * One service: unary methods return a Promise of the response, server-streaming ones (`Streams`) an async iterable
 * of responses; `Skip` names methods driven elsewhere (Content.Write). Names are lowerCamelCase ("listStatuses").
 */
export type ServiceFacade<D, Streams extends string = never, Skip extends string = never> = {
  readonly [K in Exclude<MethodNames<D>, Streams | Skip> as Uncapitalize<K>]: (req: RequestOf<D[K]>, opts?: CallOptions) => Promise<ResponseOf<D[K]>>;
} & {
  readonly [K in Extract<MethodNames<D>, Streams> as Uncapitalize<K>]: (req: RequestOf<D[K]>, opts?: CallOptions) => AsyncIterable<ResponseOf<D[K]>>;
};

/** containerd.services.namespaces.v1.Namespaces */
export type NamespacesService = ServiceFacade<NamespacesDefinition>;
/** containerd.services.version.v1.Version */
export type VersionService = ServiceFacade<VersionDefinition>;
/** containerd.services.content.v1.Content (Write is wrapped by ContainerdClient.writeContent). */
export type ContentService = ServiceFacade<ContentDefinition, "List" | "Read", "Write">;
/** containerd.services.images.v1.Images */
export type ImagesService = ServiceFacade<ImagesDefinition>;
/** containerd.services.snapshots.v1.Snapshots */
export type SnapshotsService = ServiceFacade<SnapshotsDefinition, "List">;
/** containerd.services.diff.v1.Diff */
export type DiffService = ServiceFacade<DiffDefinition>;
/** containerd.services.containers.v1.Containers */
export type ContainersService = ServiceFacade<ContainersDefinition, "ListStream">;
/** containerd.services.tasks.v1.Tasks */
export type TasksService = ServiceFacade<TasksDefinition>;
/** containerd.services.leases.v1.Leases */
export type LeasesService = ServiceFacade<LeasesDefinition>;

/** Builds a facade at run time from the loaded service definition: bidirectional methods are left out. */
export function buildFacade<F>(conn: Connection, scope: CallScope, serviceName: string): F {
  const methods = conn.registry.service(serviceName);
  const short = serviceName.slice(serviceName.lastIndexOf(".") + 1);
  const facade: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(methods)) {
    const key = name.charAt(0).toLowerCase() + name.slice(1);
    const label = `${short}.${name}`;
    if (method.requestStream) continue;
    facade[key] = method.responseStream
      ? (req: object, opts?: CallOptions) => conn.serverStream(method as MethodDefinition<object, object>, label, req, scope, opts)
      : (req: object, opts?: CallOptions) => conn.unary(method as MethodDefinition<object, object>, label, req, scope, opts);
  }
  return Object.freeze(facade) as F;
}
