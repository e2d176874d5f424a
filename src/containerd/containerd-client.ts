// ContainerdClient: containerd's gRPC API, typed from our protos. One channel per socket, shared by the copies that
// withNamespace/withLease return; every call carries the namespace (and lease) metadata and maps errors to svcd's.
import { randomBytes } from "node:crypto";
import { InvalidArgumentError } from "../common/errors.js";
import { GC } from "../common/labels.js";
import type { CallDeadlines } from "./call-deadline.js";
import { Connection, socketPathOf, type CallOptions, type CallScope } from "./connection.js";
import { assertDigest, writeContent, type WriteContentRequestOptions, type WriteContentResult } from "./content-writer.js";
import { subscribe, type ContainerdEvent, type SubscribeOptions } from "./event-stream.js";
import { retryWhileUnavailable } from "./unavailable-retry.js";
import type { ReadContentResponse__Output } from "./gen/containerd/services/content/v1/ReadContentResponse.js";
import {
  buildFacade,
  type ContainersService,
  type ContentService,
  type DiffService,
  type ImagesService,
  type LeasesService,
  type NamespacesService,
  type SnapshotsService,
  type TasksService,
  type VersionService,
} from "./service-facade.js";

/** containerd's identifier rule for namespaces, leases, containers: at most 76 chars. */
const IDENTIFIER_RE = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;

/** Default lifetime of a lease from withLeaseScope: a crashed process's lease lets go of its data after this. */
const DEFAULT_LEASE_EXPIRE_MS = 24 * 60 * 60 * 1000;

/** Where containerd listens and which namespace calls act in. */
export interface ContainerdClientOptions {
  /** containerd's gRPC socket: a path, or unix:///path. */
  address: string;
  /** containerd namespace every call carries (`containerd-namespace` metadata). */
  namespace: string;
  /** Default deadlines of unary calls without a timeoutMs (30 s; 10 min for slow calls; see call-deadline.ts). */
  deadlines?: CallDeadlines;
  /**
   * Whether Tasks.Kill may signal every process of a container (`all`, found through its cgroup). Default true;
   * false drops the flag: a rootless runc on cgroup v1 has no cgroup to find them in, and a container's own pid
   * namespace ends with its init anyway.
   */
  signalAll?: boolean;
}

/** Options of withLeaseScope. */
export interface LeaseScopeOptions {
  /** The lease expires by itself after this long (label containerd.io/gc.expire); default 24 h. */
  expireMs?: number;
  /** More lease labels (e.g. ownership labels). */
  labels?: Record<string, string>;
  /** Wait for containerd's garbage collection when deleting the lease. */
  syncDelete?: boolean;
}

/** A lease being created (ContainerdClient.beginLease). */
export interface PendingLease {
  id: string;
  /** A client whose new content and snapshots join the lease, once it exists; rejects when its creation failed. */
  leased: Promise<ContainerdClient>;
  /** Deletes the lease (after its creation settled); idempotent. */
  release(): Promise<void>;
}

/** Throws InvalidArgumentError unless `id` is a valid containerd identifier. */
export function assertIdentifier(id: unknown, what: string): asserts id is string {
  if (typeof id !== "string" || id.length > 76 || !IDENTIFIER_RE.test(id)) {
    throw new InvalidArgumentError(`${what} ${JSON.stringify(id)} is not a valid containerd identifier ([A-Za-z0-9] words joined by . _ -, at most 76 chars)`);
  }
}

/** A typed client for containerd's services, bound to one namespace (and optionally one lease). */
export class ContainerdClient {
  /** The socket path. */
  readonly address: string;
  readonly namespace: string;
  /** See ContainerdClientOptions.signalAll. */
  readonly signalAll: boolean;
  /** The lease new content and snapshots join, when this copy came from withLease. */
  readonly lease: string | undefined;
  readonly namespaces: NamespacesService;
  readonly version: VersionService;
  readonly content: ContentService;
  readonly images: ImagesService;
  readonly snapshots: SnapshotsService;
  readonly diff: DiffService;
  readonly containers: ContainersService;
  readonly tasks: TasksService;
  readonly leases: LeasesService;
  private readonly conn: Connection;
  private readonly scope: CallScope;

  constructor(opts: ContainerdClientOptions);
  constructor(opts: ContainerdClientOptions, shared: { conn: Connection; lease?: string });
  constructor(opts: ContainerdClientOptions, shared?: { conn: Connection; lease?: string }) {
    if (typeof opts !== "object" || opts === null) throw new InvalidArgumentError("ContainerdClient needs { address, namespace }");
    assertIdentifier(opts.namespace, "containerd namespace");
    this.conn = shared?.conn ?? new Connection(socketPathOf(opts.address), undefined, opts.deadlines);
    this.address = this.conn.socket;
    this.namespace = opts.namespace;
    this.lease = shared?.lease;
    this.scope = this.lease === undefined ? { namespace: this.namespace } : { namespace: this.namespace, lease: this.lease };
    const svc = <F>(name: string) => buildFacade<F>(this.conn, this.scope, `containerd.services.${name}`);
    this.namespaces = svc("namespaces.v1.Namespaces");
    this.version = svc("version.v1.Version");
    this.content = svc("content.v1.Content");
    this.images = svc("images.v1.Images");
    this.snapshots = svc("snapshots.v1.Snapshots");
    this.diff = svc("diff.v1.Diff");
    this.containers = svc("containers.v1.Containers");
    this.signalAll = opts.signalAll ?? true;
    const tasks = svc<TasksService>("tasks.v1.Tasks");
    this.tasks = this.signalAll ? tasks : { ...tasks, kill: (req, ...rest) => tasks.kill({ ...req, all: false }, ...rest) };
    this.leases = svc("leases.v1.Leases");
  }

  /** The same connection acting in another namespace (keeps the lease). */
  withNamespace(ns: string): ContainerdClient {
    return new ContainerdClient({ address: this.address, namespace: ns, signalAll: this.signalAll }, { conn: this.conn, ...(this.lease ? { lease: this.lease } : {}) });
  }

  /** The same connection; everything created through it joins the lease (`containerd-lease` metadata). */
  withLease(leaseId: string): ContainerdClient {
    assertIdentifier(leaseId, "lease id");
    return new ContainerdClient({ address: this.address, namespace: this.namespace, signalAll: this.signalAll }, { conn: this.conn, lease: leaseId });
  }

  /** containerd's version and git revision. */
  async serverVersion(opts?: CallOptions): Promise<{ version: string; revision: string }> {
    const res = await this.version.version({}, opts);
    return { version: res.version, revision: res.revision };
  }

  /** Streams a blob's bytes (from `offset`, `size` bytes; size 0 or absent = to the end). */
  async *readContent(digest: string, opts: { offset?: number; size?: number; signal?: AbortSignal } = {}): AsyncGenerator<Buffer> {
    assertDigest(digest, "readContent:");
    const offset = opts.offset ?? 0;
    const size = opts.size ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(size) || size < 0) {
      throw new InvalidArgumentError(`readContent: offset and size must be byte counts, got ${offset} and ${size}`);
    }
    for await (const res of this.content.read({ digest, offset, size }, opts.signal ? { signal: opts.signal } : {})) {
      const data = (res as ReadContentResponse__Output).data;
      if (data.length > 0) yield data;
    }
  }

  /** Writes a blob (STAT, a window of WRITEs, COMMIT); an existing digest is success with `existed: true`. */
  writeContent(req: WriteContentRequestOptions): Promise<WriteContentResult> {
    return writeContent(this.conn, this.scope, req);
  }

  /**
   * containerd events matching any of the filters, payloads decoded; the iteration ends when the signal aborts.
   * Across a containerd restart it re-subscribes (events published while containerd was away are lost).
   */
  subscribe(filters: string[], opts: SubscribeOptions = {}): AsyncIterable<ContainerdEvent> {
    return subscribe(this.conn, this.scope, filters, opts);
  }

  /** Runs fn under a fresh lease (which expires by itself), then deletes the lease, whatever fn did. */
  async withLeaseScope<T>(fn: (leased: ContainerdClient, leaseId: string) => Promise<T>, opts: LeaseScopeOptions = {}): Promise<T> {
    const lease = this.beginLease(opts);
    let result: T;
    try {
      result = await fn(await lease.leased, lease.id);
    } catch (err) {
      await lease.release().catch(() => {}); // it expires anyway
      throw err;
    }
    await lease.release();
    return result;
  }

  /**
   * A fresh lease (which expires by itself), created in the background: work that needs it only later awaits
   * `leased` then, instead of a Leases.Create on its path. `release()` deletes it once created (idempotent; a lease
   * that failed to be created has nothing to delete).
   */
  beginLease(opts: LeaseScopeOptions = {}): PendingLease {
    const expireMs = opts.expireMs ?? DEFAULT_LEASE_EXPIRE_MS;
    if (!(expireMs > 0)) throw new InvalidArgumentError(`beginLease: expireMs must be positive, got ${expireMs}`);
    const id = `svcd-${process.pid}-${randomBytes(6).toString("hex")}`;
    const labels = { ...opts.labels, [GC.expire]: new Date(Date.now() + expireMs).toISOString() };
    const created = this.leases.create({ id, labels });
    const leased = created.then(() => this.withLease(id));
    leased.catch(() => {}); // seen by whoever awaits it
    let released: Promise<void> | undefined;
    // Retried while containerd restarts, so that a restart does not leave the lease holding data for a day.
    const release = () =>
      (released ??= created.then(
        () => retryWhileUnavailable(() => this.leases.delete({ id, sync: opts.syncDelete ?? false }), { what: `delete lease ${id}` }).then(() => undefined),
        () => undefined,
      ));
    return { id, leased, release };
  }

  /** Closes the shared channel: this client and every copy made from it stop working. */
  close(): void {
    this.conn.close();
  }
}
