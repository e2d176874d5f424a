// One gRPC channel to one containerd socket, shared by every ContainerdClient copy (withNamespace, withLease).
// It runs unary calls and streams with the namespace/lease metadata, deadlines, AbortSignal and error mapping.
import * as grpc from "@grpc/grpc-js";
import type { MethodDefinition } from "@grpc/proto-loader";
import { CancelledError, InvalidArgumentError } from "../common/errors.js";
import { debug, type DebugFn } from "../common/debug.js";
import { callTimeoutMs, checkDeadlines, type CallDeadlines } from "./call-deadline.js";
import { mapGrpcError } from "./grpc-error.js";
import { ProtoRegistry } from "./proto-registry.js";

/** containerd's server accepts 16 MiB messages; grpc-js would otherwise refuse answers over 4 MiB. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** Options every call takes. */
export interface CallOptions {
  signal?: AbortSignal;
  /**
   * Deadline for the whole call (for a stream: until its last message). Unary calls without one get the policy of
   * call-deadline.ts (30 s, 10 min for slow calls, none for Tasks.Wait); streams get none.
   */
  timeoutMs?: number;
}

/** Who a call acts for: the containerd namespace, and a lease that new content and snapshots join. */
export interface CallScope {
  namespace: string;
  lease?: string;
}

/** Turns "unix:///run/x.sock", "unix:/run/x.sock" or "/run/x.sock" into the socket path. */
export function socketPathOf(address: string): string {
  if (typeof address !== "string" || address.trim() === "") throw new InvalidArgumentError("containerd address must be a unix socket path");
  let path = address.trim();
  if (path.startsWith("unix://")) path = path.slice("unix://".length);
  else if (path.startsWith("unix:")) path = path.slice("unix:".length);
  if (!path.startsWith("/")) throw new InvalidArgumentError(`containerd address ${JSON.stringify(address)} must be an absolute unix socket path`);
  return path;
}

/** The channel, the parsed protos and the debug channel of one socket. */
export class Connection {
  readonly socket: string;
  readonly registry: ProtoRegistry;
  readonly log: DebugFn = debug("containerd");
  private readonly target: string;
  private client: grpc.Client | undefined;
  private closed = false;
  private readonly deadlines: CallDeadlines;

  constructor(socket: string, registry: ProtoRegistry = new ProtoRegistry(), deadlines: CallDeadlines = {}) {
    checkDeadlines(deadlines);
    this.socket = socket;
    this.registry = registry;
    this.deadlines = { ...deadlines };
    this.target = `unix://${socket}`;
  }

  // Lazy: nothing touches the socket until the first call.
  private grpcClient(context: string): grpc.Client {
    if (this.closed) throw new CancelledError(`${context}: the containerd client is closed`);
    if (!this.client) {
      const options: grpc.ChannelOptions = {
        "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
        "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
        // A containerd started after the client (managed mode) is picked up within a second, not after minutes.
        "grpc.initial_reconnect_backoff_ms": 100,
        "grpc.max_reconnect_backoff_ms": 1000,
      };
      const channel = new grpc.Channel(this.target, grpc.credentials.createInsecure(), options);
      this.client = new grpc.Client(this.target, grpc.credentials.createInsecure(), { channelOverride: channel });
    }
    return this.client;
  }

  /** True once the channel has reached containerd (so an UNAVAILABLE status came from the server itself). */
  connected(): boolean {
    return this.client?.getChannel().getConnectivityState(false) === grpc.connectivityState.READY;
  }

  private metadata(scope: CallScope): grpc.Metadata {
    const md = new grpc.Metadata();
    md.set("containerd-namespace", scope.namespace);
    if (scope.lease) md.set("containerd-lease", scope.lease);
    return md;
  }

  private callOptions(timeoutMs: number | undefined): grpc.CallOptions {
    const out: grpc.CallOptions = {};
    if (timeoutMs !== undefined) {
      if (!(timeoutMs > 0)) throw new InvalidArgumentError(`timeoutMs must be positive, got ${timeoutMs}`);
      out.deadline = Date.now() + timeoutMs;
    }
    return out;
  }

  /** Maps an error of call `name`; an abort of our own signal becomes CancelledError with the signal's reason. */
  fail(err: unknown, name: string, signal?: AbortSignal, timeoutMs?: number): Error {
    if (signal?.aborted) return new CancelledError(`containerd ${name}: cancelled`, { cause: signal.reason ?? err });
    return mapGrpcError(err, `containerd ${name}`, timeoutMs === undefined ? { socket: this.socket } : { socket: this.socket, timeoutMs });
  }

  private trace(name: string, scope: CallScope, started: number, outcome: string): void {
    if (this.log.enabled) this.log("%s ns=%s%s %dms %s", name, scope.namespace, scope.lease ? ` lease=${scope.lease}` : "", Math.round(performance.now() - started), outcome);
  }

  /** A unary call; `name` is "Service.Method" for messages and debug lines. */
  unary<Res>(method: MethodDefinition<object, object>, name: string, req: object, scope: CallScope, opts: CallOptions = {}): Promise<Res> {
    const started = performance.now();
    const { signal } = opts;
    return new Promise<Res>((resolve, reject) => {
      if (signal?.aborted) return reject(this.fail(undefined, name, signal));
      let call: grpc.ClientUnaryCall;
      const onAbort = () => call.cancel();
      try {
        const timeoutMs = callTimeoutMs(name, opts.timeoutMs, this.deadlines);
        call = this.grpcClient(name).makeUnaryRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          req,
          this.metadata(scope),
          this.callOptions(timeoutMs),
          (err, res) => {
            signal?.removeEventListener("abort", onAbort);
            if (err) {
              this.trace(name, scope, started, grpc.status[err.code] ?? String(err.code));
              reject(this.fail(err, name, signal, timeoutMs));
            } else {
              this.trace(name, scope, started, "OK");
              resolve(res as Res);
            }
          },
        );
      } catch (err) {
        return reject(this.fail(err, name));
      }
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** A server stream as an async iterable; breaking out of the loop cancels the call. */
  async *serverStream<Res>(method: MethodDefinition<object, object>, name: string, req: object, scope: CallScope, opts: CallOptions = {}): AsyncGenerator<Res> {
    const started = performance.now();
    const { signal } = opts;
    if (signal?.aborted) throw this.fail(undefined, name, signal);
    let call: grpc.ClientReadableStream<Res>;
    try {
      call = this.grpcClient(name).makeServerStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, req, this.metadata(scope), this.callOptions(opts.timeoutMs)) as grpc.ClientReadableStream<Res>;
    } catch (err) {
      throw this.fail(err, name);
    }
    call.on("error", () => {}); // errors reach the iterator; this keeps a late one (after cancel) from being unhandled
    const onAbort = () => call.cancel();
    signal?.addEventListener("abort", onAbort, { once: true });
    let finished = false;
    try {
      for await (const msg of call) yield msg as Res;
      finished = true;
      this.trace(name, scope, started, "OK");
    } catch (err) {
      this.trace(name, scope, started, (err as { code?: number }).code !== undefined ? String(grpc.status[(err as { code: number }).code]) : "error");
      throw this.fail(err, name, signal, opts.timeoutMs);
    } finally {
      signal?.removeEventListener("abort", onAbort);
      if (!finished) call.cancel();
    }
  }

  /** A bidirectional stream (Content.Write); the caller drives it and maps its errors with fail(). */
  bidi<Req, Res>(method: MethodDefinition<object, object>, name: string, scope: CallScope, opts: CallOptions = {}): grpc.ClientDuplexStream<Req, Res> {
    return this.grpcClient(name).makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, this.metadata(scope), this.callOptions(opts.timeoutMs)) as unknown as grpc.ClientDuplexStream<Req, Res>;
  }

  /** Closes the channel; every client copy sharing it stops working. */
  close(): void {
    this.closed = true;
    this.client?.close();
    this.client = undefined;
  }
}
