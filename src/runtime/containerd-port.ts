// The narrow slice of the containerd client the runtime layer uses (src/containerd's ContainerdClient satisfies
// it). Depending on this instead of the whole client keeps the runtime testable and its needs visible.

/** Per-call options every client method takes. */
export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** containerd.types.Mount as snapshotters return it and tasks take it. */
export interface RuntimeMount {
  type: string;
  source: string;
  target?: string;
  options: string[];
}

/** google.protobuf.Any as the client encodes it. */
export interface AnyValue {
  type_url: string;
  value: Buffer;
}

/** The container record fields the runtime writes. */
export interface ContainerRecord {
  id: string;
  labels?: Record<string, string>;
  image?: string;
  runtime: { name: string; options?: AnyValue | null };
  spec: AnyValue;
  snapshotter?: string;
  snapshot_key?: string;
}

/** The containerd services and helpers runtime code calls. */
export interface RuntimeClient {
  readonly namespace: string;
  readonly snapshots: {
    prepare(req: { snapshotter: string; key: string; parent?: string; labels?: Record<string, string> }, opts?: CallOptions): Promise<{ mounts: RuntimeMount[] }>;
    remove(req: { snapshotter: string; key: string }, opts?: CallOptions): Promise<unknown>;
  };
  readonly containers: {
    create(req: { container: ContainerRecord }, opts?: CallOptions): Promise<unknown>;
    delete(req: { id: string }, opts?: CallOptions): Promise<unknown>;
  };
  readonly tasks: {
    create(
      req: { container_id: string; rootfs: RuntimeMount[]; stdin: string; stdout: string; stderr: string; terminal: boolean },
      opts?: CallOptions,
    ): Promise<{ pid: number }>;
    start(req: { container_id: string; exec_id?: string }, opts?: CallOptions): Promise<{ pid: number }>;
    wait(req: { container_id: string; exec_id?: string }, opts?: CallOptions): Promise<{ exit_status: number }>;
    kill(req: { container_id: string; exec_id?: string; signal: number; all?: boolean }, opts?: CallOptions): Promise<unknown>;
    delete(req: { container_id: string }, opts?: CallOptions): Promise<{ exit_status: number }>;
    deleteProcess(req: { container_id: string; exec_id: string }, opts?: CallOptions): Promise<{ exit_status: number }>;
    exec(
      req: { container_id: string; exec_id: string; stdin: string; stdout: string; stderr: string; terminal: boolean; spec: AnyValue },
      opts?: CallOptions,
    ): Promise<unknown>;
    closeIO(req: { container_id: string; exec_id?: string; stdin: boolean }, opts?: CallOptions): Promise<unknown>;
  };
}
