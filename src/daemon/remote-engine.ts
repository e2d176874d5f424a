// The Engine a client uses when svcd's daemon answers: the same contract as the embedded engine, carried over one
// Session stream (protos/svcd/v1/engine.proto). Each call is a request with its own id; an AbortSignal cancels it in
// the daemon; the stream's end releases everything the client held there. If the daemon dies, every pending and
// later call fails at once with EngineUnavailableError — no call waits on a daemon that is gone. `serviceLogs` is
// the one streamed answer (log-stream.ts).
import * as grpc from "@grpc/grpc-js";
import { CancelledError, EngineUnavailableError, InternalError, type SvcdError } from "../common/errors.js";
import type { CallOptions, ContainerDef, Engine, LogsOptions, ProgressEvent, PruneOptions, PruneResult, ServiceDef, SyncResult, UpRequest, UpSession } from "../definition/index.js";
import type { ClientMessage } from "./gen/svcd/v1/ClientMessage.js";
import type { Request } from "./gen/svcd/v1/Request.js";
import type { ServerMessage__Output } from "./gen/svcd/v1/ServerMessage.js";
import type { EngineClient } from "./gen/svcd/v1/Engine.js";
import { RemoteLogStream } from "./log-stream.js";
import { MAX_MESSAGE_BYTES, svcdEngine } from "./protocol.js";
import { errorOf } from "./wire-errors.js";

/** The per-session options a client sends (DESIGN.md §6). */
export interface RemoteSessionOptions {
  sessionId?: string | undefined;
  moduleId?: string | undefined;
  registryMirrors?: Record<string, string> | undefined;
  serviceGracePeriodMs?: number | undefined;
  onProgress?: ((event: ProgressEvent) => void) | undefined;
  /** Default: process.cwd(). */
  cwd?: string | undefined;
}

type Call = Exclude<keyof Request, "request_id" | "call">;

interface Pending {
  resolve(message: { result_json: string; data: Buffer }): void;
  reject(err: unknown): void;
}

/** A grpc client to the daemon's socket. */
export function daemonClient(socket: string): EngineClient {
  const Engine = svcdEngine();
  return new Engine(`unix://${socket}`, grpc.credentials.createInsecure(), {
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  });
}

export function daemonGone(socket: string, detail: string): EngineUnavailableError {
  return new EngineUnavailableError(
    `the svcd daemon at ${socket} is gone (${detail}): start it again (systemctl start svcd.socket, systemctl --user start svcd.socket, or svcd --socket ${socket}) and reconnect, or connect({ engine: "embedded" })`,
  );
}

export class RemoteEngine implements Engine {
  readonly socket: string;
  readonly #client: EngineClient;
  readonly #stream: grpc.ClientDuplexStream<ClientMessage, ServerMessage__Output>;
  readonly #pending = new Map<number, Pending>();
  /** Logs requests under way: their LogLines, then their Response or Failure, go there. */
  readonly #logStreams = new Map<number, RemoteLogStream>();
  readonly #onProgress: ((event: ProgressEvent) => void) | undefined;
  /** Warning codes already emitted: a daemon that joins the hub again gives them again. */
  readonly #warned = new Set<string>();
  #nextId = 1;
  /** Set once the stream is over: why later calls fail. */
  #dead: SvcdError | undefined;
  #ended: Promise<void>;
  #closing: Promise<void> | undefined;
  #sessionId = "";
  #clients = 0;

  private constructor(socket: string, client: EngineClient, onProgress: RemoteSessionOptions["onProgress"]) {
    this.socket = socket;
    this.#client = client;
    this.#onProgress = onProgress;
    this.#stream = client.Session();
    this.#ended = new Promise<void>((resolve) => {
      this.#stream.on("data", (message: ServerMessage__Output) => this.#receive(message));
      this.#stream.on("error", (err: grpc.ServiceError) => {
        this.#fail(err.code === grpc.status.CANCELLED && this.#closing ? new CancelledError("the client is closed") : daemonGone(socket, err.details || err.message));
        resolve();
      });
      this.#stream.on("status", () => resolve());
      this.#stream.on("end", () => {
        this.#fail(this.#closing ? new CancelledError("the client is closed") : daemonGone(socket, "it ended the session"));
        resolve();
      });
    });
  }

  /**
   * Opens (or joins) a session on the daemon at `socket`; fails with the daemon's error if it refuses. `client`: one
   * already connected to `socket` (the probe's), which the engine then owns.
   */
  static async open(socket: string, options: RemoteSessionOptions, signal?: AbortSignal, client: EngineClient = daemonClient(socket)): Promise<RemoteEngine> {
    const engine = new RemoteEngine(socket, client, options.onProgress);
    const grace = options.serviceGracePeriodMs;
    const opened = engine.#request(0, undefined, signal);
    engine.#stream.write({
      open: {
        session_id: options.sessionId ?? "",
        module_id: options.moduleId ?? "",
        registry_mirrors: options.registryMirrors ?? {},
        ...(grace !== undefined ? { service_grace_period_ms: grace } : {}),
        cwd: options.cwd ?? process.cwd(),
        progress: options.onProgress !== undefined,
      },
    });
    try {
      const answer = JSON.parse((await opened).result_json) as { sessionId: string; clients: number };
      engine.#sessionId = answer.sessionId;
      engine.#clients = answer.clients;
      return engine;
    } catch (err) {
      await engine.close();
      throw err;
    }
  }

  /** The session's id (the daemon's choice when the client gave none). */
  get sessionId(): string {
    return this.#sessionId;
  }

  /** How many clients shared the session when this one joined, itself included. */
  get clientsAtOpen(): number {
    return this.#clients;
  }

  async sync(def: ContainerDef, options: CallOptions = {}): Promise<SyncResult> {
    return this.#json("sync", { def_json: JSON.stringify(def) }, options.signal) as Promise<SyncResult>;
  }

  async readFile(def: ContainerDef, path: string, options: CallOptions = {}): Promise<Buffer> {
    return (await this.#call("read_file", { def_json: JSON.stringify(def), path }, options.signal)).data;
  }

  async digest(def: ContainerDef, options: CallOptions = {}): Promise<string> {
    return this.#json("digest", { def_json: JSON.stringify(def) }, options.signal) as Promise<string>;
  }

  async serviceHostname(def: ServiceDef, options: CallOptions = {}): Promise<string> {
    return this.#json("service_hostname", { def_json: JSON.stringify(def) }, options.signal) as Promise<string>;
  }

  async startService(def: ServiceDef, options: CallOptions = {}): Promise<void> {
    await this.#call("start_service", { def_json: JSON.stringify(def) }, options.signal);
  }

  async stopService(def: ServiceDef, stop: { kill: boolean }, options: CallOptions = {}): Promise<void> {
    await this.#call("stop_service", { def_json: JSON.stringify(def), kill: stop.kill }, options.signal);
  }

  async up(def: ServiceDef, request: UpRequest, options: CallOptions = {}): Promise<UpSession> {
    const { upId, ports } = (await this.#json("up", { def_json: JSON.stringify(def), request_json: JSON.stringify(request) }, options.signal)) as { upId: number; ports: UpSession["ports"] };
    let closing: Promise<void> | undefined;
    return {
      ports,
      close: () => {
        // A daemon that is gone has closed the tunnels with the stream: nothing is left to close.
        closing ??= this.#call("up_close", { up_id: upId }).then(
          () => undefined,
          (err: unknown) => {
            if (!this.#dead) throw err;
          },
        );
        return closing;
      },
    };
  }

  async prune(options: PruneOptions, call: CallOptions = {}): Promise<PruneResult> {
    return this.#json("prune", { options_json: JSON.stringify(options) }, call.signal) as Promise<PruneResult>;
  }

  async *serviceLogs(def: ServiceDef, opts: LogsOptions, options: CallOptions = {}): AsyncGenerator<string[], void, undefined> {
    const { signal } = options;
    if (this.#closing && !this.#dead) throw new CancelledError("the client is closed");
    if (this.#dead) throw this.#dead;
    if (signal?.aborted) throw new CancelledError("operation cancelled", { cause: signal.reason });
    const id = this.#nextId++;
    const write = (message: ClientMessage) => {
      if (!this.#dead && !this.#closing) this.#stream.write(message);
    };
    const stream = new RemoteLogStream(
      (batches) => write({ logs_ack: { request_id: id, batches } }),
      () => write({ cancel: { request_id: id } }),
    );
    this.#logStreams.set(id, stream);
    write({ request: { request_id: id, logs: { def_json: JSON.stringify(def), options_json: JSON.stringify(opts) } } });
    try {
      for (let batch = await stream.next(signal); batch; batch = await stream.next(signal)) yield batch;
    } finally {
      // A break or an abort: the daemon ends the request (its files closed) before this resolves.
      await stream.close();
      this.#logStreams.delete(id);
    }
  }

  /** Ends the session stream; resolves once the daemon has released everything this client held. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (!this.#dead) this.#stream.end();
      await this.#ended;
      this.#client.close();
    })();
    return this.#closing;
  }

  async #json(call: Call, args: object, signal?: AbortSignal): Promise<unknown> {
    const { result_json } = await this.#call(call, args, signal);
    return result_json === "" ? undefined : JSON.parse(result_json);
  }

  #call(call: Call, args: object, signal?: AbortSignal): Promise<{ result_json: string; data: Buffer }> {
    if (this.#closing && !this.#dead) return Promise.reject(new CancelledError("the client is closed"));
    const id = this.#nextId++;
    const answer = this.#request(id, call, signal);
    if (!this.#dead) this.#stream.write({ request: { request_id: id, [call]: args } });
    return answer;
  }

  #request(id: number, call: Call | undefined, signal?: AbortSignal): Promise<{ result_json: string; data: Buffer }> {
    if (this.#dead) return Promise.reject(this.#dead);
    if (signal?.aborted) return Promise.reject(new CancelledError("operation cancelled", { cause: signal.reason }));
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#pending.delete(id);
        if (call !== undefined && !this.#dead) this.#stream.write({ cancel: { request_id: id } });
        reject(new CancelledError("operation cancelled", { cause: signal?.reason }));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#pending.set(id, {
        resolve: (message) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(message);
        },
        reject: (err) => {
          signal?.removeEventListener("abort", onAbort);
          reject(err);
        },
      });
    });
  }

  #receive(message: ServerMessage__Output): void {
    switch (message.message) {
      case "opened":
        this.#settle(0, (p) => p.resolve({ result_json: JSON.stringify({ sessionId: message.opened!.session_id, clients: message.opened!.clients }), data: Buffer.alloc(0) }));
        break;
      case "response": {
        const r = message.response!;
        const logs = this.#logStreams.get(Number(r.request_id));
        if (logs) logs.end();
        else this.#settle(Number(r.request_id), (p) => p.resolve({ result_json: r.result_json, data: Buffer.from(r.data) }));
        break;
      }
      case "failure": {
        const f = message.failure!;
        const logs = this.#logStreams.get(Number(f.request_id));
        if (logs) logs.end(errorOf(f));
        else this.#settle(Number(f.request_id), (p) => p.reject(errorOf(f)));
        break;
      }
      case "log_lines": {
        const l = message.log_lines!;
        this.#logStreams.get(Number(l.request_id))?.push(l.lines);
        break;
      }
      case "progress":
        try {
          this.#onProgress?.(JSON.parse(message.progress!.event_json) as ProgressEvent);
        } catch {
          // a listener's own error is not the call's
        }
        break;
      case "warning": {
        const { code, message: text } = message.warning!;
        if (this.#warned.has(code)) break;
        this.#warned.add(code);
        process.emitWarning(text, { code });
        break;
      }
      default:
        this.#fail(new InternalError(`svcd daemon at ${this.socket} sent an unknown message`));
    }
  }

  #settle(id: number, settle: (pending: Pending) => void): void {
    const pending = this.#pending.get(id);
    if (!pending) return; // a call the caller has given up on
    this.#pending.delete(id);
    settle(pending);
  }

  #fail(err: SvcdError): void {
    this.#dead ??= err;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(this.#dead);
    for (const logs of this.#logStreams.values()) logs.end(this.#dead);
  }
}
