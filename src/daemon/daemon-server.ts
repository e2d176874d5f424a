// svcd's gRPC server (DESIGN.md §6): Version, and one Session stream per client on top of the session hub. It
// listens on a unix socket it makes itself (root: mode 0660, group svcd; rootless: 0600) or on the socket systemd
// passes (LISTEN_FDS); grpc-js takes each accepted connection through its connection injector, so both ways share
// one path. Requests of one stream run concurrently; a Cancel aborts one; the stream's end releases the client. A
// logs request answers with LogLines messages within a window the client's LogsAcks reopen (log-stream.ts).
import { readdirSync } from "node:fs";
import { chmod, chown, lstat, mkdir, unlink } from "node:fs/promises";
import { createServer, type Server as NetServer, type Socket } from "node:net";
import { dirname, join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { debug } from "../common/debug.js";
import { CancelledError, EngineUnavailableError, InvalidArgumentError, NotFoundError } from "../common/errors.js";
import type { ContainerDef, LogsOptions, PruneOptions, ServiceDef, UpRequest } from "../definition/index.js";
import { followLogFile, listServiceRuns, listServices, stopServiceContainer, type EngineCore, type EngineWarning } from "../engine/index.js";
import type { ClientMessage__Output } from "./gen/svcd/v1/ClientMessage.js";
import type { Request__Output } from "./gen/svcd/v1/Request.js";
import type { ServerMessage } from "./gen/svcd/v1/ServerMessage.js";
import type { VersionResponse } from "./gen/svcd/v1/VersionResponse.js";
import type { StatusRequest__Output } from "./gen/svcd/v1/StatusRequest.js";
import type { StatusResponse } from "./gen/svcd/v1/StatusResponse.js";
import type { ListServicesResponse } from "./gen/svcd/v1/ListServicesResponse.js";
import type { StopServicesRequest__Output } from "./gen/svcd/v1/StopServicesRequest.js";
import type { StopServicesResponse } from "./gen/svcd/v1/StopServicesResponse.js";
import type { ServiceLogsRequest__Output } from "./gen/svcd/v1/ServiceLogsRequest.js";
import type { ServiceLogLines } from "./gen/svcd/v1/ServiceLogLines.js";
import { LogsWindow, sendLogs } from "./log-stream.js";
import { probeDaemon } from "./probe.js";
import { MAX_MESSAGE_BYTES, svcdEngine, svcdVersion } from "./protocol.js";
import { SessionHub, type ClientSession } from "./session-hub.js";
import { failureOf, unaryFailure } from "./wire-errors.js";

const log = debug("daemon");

/** Where to listen: a socket path with its access, or a socket systemd already listens on. */
export type DaemonListen = { path: string; mode: number; gid?: number | undefined } | { fd: number };

export interface DaemonServerOptions {
  core: EngineCore;
  listen: DaemonListen;
}

type Stream = grpc.ServerDuplexStream<ClientMessage__Output, ServerMessage>;

export class DaemonServer {
  readonly hub: SessionHub;
  readonly #core: EngineCore;
  readonly #grpc: grpc.Server;
  readonly #net: NetServer;
  readonly #sockets = new Set<Socket>();
  readonly #path: string | undefined;
  #closing: Promise<void> | undefined;

  private constructor(core: EngineCore, path: string | undefined) {
    this.#core = core;
    this.#path = path;
    this.hub = new SessionHub(core);
    this.#grpc = new grpc.Server({ "grpc.max_receive_message_length": MAX_MESSAGE_BYTES, "grpc.max_send_message_length": MAX_MESSAGE_BYTES });
    this.#grpc.addService(svcdEngine().service, {
      Version: (_call: unknown, reply: grpc.sendUnaryData<VersionResponse>) => reply(null, this.version()),
      Session: (call: Stream) => this.#session(call),
      Status: (call: grpc.ServerUnaryCall<StatusRequest__Output, StatusResponse>, reply: grpc.sendUnaryData<StatusResponse>) => {
        this.status(call.request.gc).then((status) => reply(null, status), (err: unknown) => reply({ code: grpc.status.INTERNAL, details: String(err) }));
      },
      ListServices: (_call: unknown, reply: grpc.sendUnaryData<ListServicesResponse>) => {
        Promise.all([listServices(this.#core.client, [this.#core.namespace]), listServiceRuns(this.#core.paths.serviceLogsDir)]).then(
          ([services, runs]) => reply(null, { services_json: JSON.stringify(services), runs_json: JSON.stringify(runs) }),
          (err: unknown) => reply(unaryFailure(err)),
        );
      },
      ServiceLogs: (call: grpc.ServerWritableStream<ServiceLogsRequest__Output, ServiceLogLines>) => void this.#serviceLogs(call),
      StopServices: (call: grpc.ServerUnaryCall<StopServicesRequest__Output, StopServicesResponse>, reply: grpc.sendUnaryData<StopServicesResponse>) => {
        this.#stopServices(call.request.container_ids, call.request.kill).then(() => reply(null, {}), (err: unknown) => reply(unaryFailure(err)));
      },
    });
    const injector = this.#grpc.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    this.#net = createServer((socket) => {
      this.#sockets.add(socket);
      socket.once("close", () => this.#sockets.delete(socket));
      injector.injectConnection(socket);
    });
  }

  /** Listens; the core must have reaped already (the first call is served only after that). */
  static async start(opts: DaemonServerOptions): Promise<DaemonServer> {
    const { listen } = opts;
    if ("fd" in listen) {
      const server = new DaemonServer(opts.core, undefined);
      await server.#listen({ fd: listen.fd });
      return server;
    }
    await prepareSocketPath(listen.path);
    const server = new DaemonServer(opts.core, listen.path);
    // The file is born with its final mode (umask), then given to its group: never more open than it will be.
    const umask = process.umask(0o777 & ~listen.mode);
    try {
      await server.#listen({ path: listen.path });
    } finally {
      process.umask(umask);
    }
    await chmod(listen.path, listen.mode);
    if (listen.gid !== undefined) await chown(listen.path, process.getuid?.() ?? 0, listen.gid);
    return server;
  }

  /** Stops the named service containers of this daemon's namespace (and only those: ids are checked against it). */
  async #stopServices(ids: readonly string[], kill: boolean): Promise<void> {
    const mine = new Map((await listServices(this.#core.client, [this.#core.namespace])).map((s) => [s.containerId, s]));
    const unknown = ids.filter((id) => !mine.has(id));
    if (unknown.length > 0) throw new NotFoundError(`no service container ${unknown.join(", ")} in this daemon's engine (svc ps lists them)`);
    await Promise.all(ids.map((id) => stopServiceContainer(this.#core.client, mine.get(id)!, { kill })));
  }

  /** Streams one run's log (svc logs): lines one message each, written as the client takes them. */
  async #serviceLogs(call: grpc.ServerWritableStream<ServiceLogsRequest__Output, ServiceLogLines>): Promise<void> {
    const abort = new AbortController();
    call.once("cancelled", () => abort.abort(new CancelledError("svc logs: the client went away")));
    try {
      const id = call.request.container_id;
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(id)) throw new InvalidArgumentError(`invalid container id ${JSON.stringify(id)}`);
      const client = this.#core.client.withNamespace(this.#core.namespace);
      const until = call.request.follow ? client.tasks.wait({ container_id: id }).catch(() => undefined) : undefined;
      const lines = followLogFile({
        path: join(this.#core.paths.serviceLogsDir, `${id}.log`),
        what: `service container ${id}`,
        follow: call.request.follow,
        tail: call.request.tail >= 0 ? call.request.tail : undefined,
        until,
        signal: abort.signal,
      });
      for await (const line of lines) {
        if (!call.write({ lines: [line] })) await new Promise((resolve) => call.once("drain", resolve));
      }
      call.end();
    } catch (err) {
      if (!abort.signal.aborted) call.emit("error", unaryFailure(err));
    }
  }

  version(): VersionResponse {
    return { version: svcdVersion(), pid: process.pid, rootless: this.#core.userMode, uid: process.getuid?.() ?? 0 };
  }

  /** What the daemon holds; with `gc`, once settled (see StatusRequest.gc) and after a full collection. */
  async status(gc: boolean): Promise<StatusResponse> {
    const collect = (globalThis as { gc?: () => void }).gc;
    if (gc) {
      await this.hub.settled();
      await this.#core.autoGc.settled();
      // Handles closed meanwhile are released by their close callbacks, which run in the loop's next turns.
      for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
      collect?.();
    }
    const handles: Record<string, number> = {};
    for (const kind of process.getActiveResourcesInfo()) handles[kind] = (handles[kind] ?? 0) + 1;
    const counts = this.hub.counts;
    const memory = process.memoryUsage();
    let fds = 0;
    try {
      fds = readdirSync("/proc/self/fd").length;
    } catch {
      // no /proc: reported as 0
    }
    return { sessions: counts.sessions, clients: counts.clients, heap_used: memory.heapUsed, rss: memory.rss, open_fds: fds, handles, gc_done: gc && collect !== undefined };
  }

  /**
   * Stops accepting, lets calls under way finish for up to `drainMs`, ends every session (their services stopped,
   * their clients' remaining calls cancelled; clients see the daemon gone), then closes the core. Idempotent.
   */
  close(opts: { drainMs?: number } = {}): Promise<void> {
    this.#closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.#net.close(() => resolve())); // accepted connections stay
      if (this.#path) await unlink(this.#path).catch(() => {});
      await this.hub.close(opts.drainMs ?? 0);
      // Every client has left (hub.close waited for each leave): the streams still open are ended by the shutdown.
      this.#grpc.forceShutdown();
      for (const socket of this.#sockets) socket.destroy();
      await closed;
      await this.#core.close();
    })();
    return this.#closing;
  }

  #listen(target: { path: string } | { fd: number }): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#net.once("error", reject);
      this.#net.listen("path" in target ? { path: target.path } : { fd: target.fd }, () => {
        this.#net.off("error", reject);
        resolve();
      });
    });
  }

  #session(call: Stream): void {
    let client: ClientSession | undefined;
    let opening: Promise<void> | undefined;
    let done = false;
    const calls = new Map<number, AbortController>();
    const windows = new Map<number, LogsWindow>();
    let unwatch: (() => void) | undefined;
    const send = (message: ServerMessage) => {
      if (!done && !call.destroyed && !call.writableEnded) call.write(message);
    };
    const fail = (requestId: number, err: unknown) => send({ failure: { request_id: requestId, ...failureOf(err) } });
    const finish = () => {
      if (done) return;
      done = true;
      unwatch?.();
      for (const controller of calls.values()) controller.abort(new CancelledError("the client's session stream ended"));
      void (async () => {
        await opening;
        await client?.leave().catch((err) => log("a client's leave: %s", err));
        if (!call.destroyed && !call.writableEnded) call.end();
      })();
    };

    call.on("data", (message: ClientMessage__Output) => {
      if (done) return;
      switch (message.message) {
        case "open": {
          if (opening) return fail(0, new InvalidArgumentError("a session stream opens once"));
          const open = message.open!;
          opening = this.hub
            .join({
              sessionId: open.session_id,
              moduleId: open.module_id,
              registryMirrors: open.registry_mirrors,
              serviceGracePeriodMs: open.service_grace_period_ms,
              cwd: open.cwd,
              onProgress: open.progress ? (event) => send({ progress: { event_json: JSON.stringify(event) } }) : undefined,
            })
            .then(
              (joined) => {
                client = joined;
                if (done) return; // the stream ended while joining: finish() leaves
                send({ opened: { session_id: joined.session.id, clients: joined.session.clients.size } });
                // The daemon's warnings are its clients' too: those already given, then each new one.
                const warn = (w: EngineWarning) => send({ warning: { code: w.code, message: w.message } });
                for (const w of this.#core.resources.warnings) warn(w);
                unwatch = this.#core.resources.onWarning(warn);
              },
              (err: unknown) => {
                fail(0, err);
                if (!call.writableEnded) call.end();
              },
            );
          return;
        }
        case "request": {
          const request = message.request!;
          const id = Number(request.request_id);
          if (!opening) return fail(id, new InvalidArgumentError("open a session before sending requests"));
          const controller = new AbortController();
          calls.set(id, controller);
          const window = request.call === "logs" ? new LogsWindow() : undefined;
          if (window) windows.set(id, window);
          void opening
            .then(() => {
              if (!client) throw new CancelledError("the session did not open");
              return client.run(controller.signal, (signal) =>
                window ? serveLogs(client!, request, window, (lines) => send({ log_lines: { request_id: id, lines } }), signal) : dispatch(client!, request, signal),
              );
            })
            .then(
              (answer) => send({ response: { request_id: id, result_json: answer.json ?? "", data: answer.data ?? Buffer.alloc(0) } }),
              (err: unknown) => fail(id, err),
            )
            .finally(() => {
              calls.delete(id);
              windows.delete(id);
            });
          return;
        }
        case "cancel":
          calls.get(Number(message.cancel!.request_id))?.abort(new CancelledError("the client cancelled the call"));
          return;
        case "logs_ack":
          windows.get(Number(message.logs_ack!.request_id))?.give(message.logs_ack!.batches);
          return;
        default:
          fail(0, new InvalidArgumentError("unknown message on the session stream"));
      }
    });
    call.on("end", finish);
    call.on("cancelled", finish);
    call.on("error", finish);
    call.on("close", finish);
  }
}

function parse<T>(json: string, what: string): T {
  try {
    return JSON.parse(json) as T;
  } catch (err) {
    throw new InvalidArgumentError(`${what} is not valid JSON`, { cause: err });
  }
}

function checkPrune(value: unknown): PruneOptions {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new InvalidArgumentError("prune options must be an object");
  const out: PruneOptions = {};
  const v = value as Record<string, unknown>;
  for (const name of ["keepStorageBytes", "olderThanMs"] as const) {
    const n = v[name];
    if (n === undefined) continue;
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`prune: ${name} must be a non-negative integer`);
    out[name] = n;
  }
  if (v.all !== undefined && typeof v.all !== "boolean") throw new InvalidArgumentError("prune: all must be true or false");
  if (v.all !== undefined) out.all = v.all as boolean;
  return out;
}

function checkUpRequest(value: unknown): UpRequest {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new InvalidArgumentError("up request must be an object");
  return value as UpRequest; // the engine's up() checks every field (ports, protocol, bind address)
}

/** A logs request: its lines go out as LogLines within the window; the Response that follows ends them. */
async function serveLogs(client: ClientSession, request: Request__Output, window: LogsWindow, send: (lines: string[]) => void, signal: AbortSignal): Promise<{ json?: string; data?: Buffer }> {
  const call = request.logs!;
  const def = parse<ServiceDef>(call.def_json, "service definition");
  const opts = parse<LogsOptions>(call.options_json || "{}", "logs options"); // the engine checks every field
  await sendLogs(client.engine.serviceLogs(def, opts, { signal }), window, send, signal);
  return {};
}

async function dispatch(client: ClientSession, request: Request__Output, signal: AbortSignal): Promise<{ json?: string; data?: Buffer }> {
  const engine = client.engine;
  const json = (value: unknown) => ({ json: value === undefined ? "" : JSON.stringify(value) });
  switch (request.call) {
    case "sync":
      return json(await engine.sync(parse<ContainerDef>(request.sync!.def_json, "definition"), { signal }));
    case "read_file":
      return { data: await engine.readFile(parse<ContainerDef>(request.read_file!.def_json, "definition"), request.read_file!.path, { signal }) };
    case "digest":
      return json(await engine.digest(parse<ContainerDef>(request.digest!.def_json, "definition"), { signal }));
    case "service_hostname":
      return json(await engine.serviceHostname(parse<ServiceDef>(request.service_hostname!.def_json, "service definition"), { signal }));
    case "start_service":
      await engine.startService(parse<ServiceDef>(request.start_service!.def_json, "service definition"), { signal });
      return {};
    case "stop_service":
      await engine.stopService(parse<ServiceDef>(request.stop_service!.def_json, "service definition"), { kill: request.stop_service!.kill === true }, { signal });
      return {};
    case "up": {
      const up = await engine.up(parse<ServiceDef>(request.up!.def_json, "service definition"), checkUpRequest(parse(request.up!.request_json, "up request")), { signal });
      return json({ upId: client.addUp(up), ports: up.ports });
    }
    case "up_close":
      await client.closeUp(Number(request.up_close!.up_id));
      return {};
    case "prune":
      return json(await engine.prune(checkPrune(parse(request.prune!.options_json, "prune options")), { signal }));
    default:
      throw new InvalidArgumentError("unknown request");
  }
}

/**
 * Makes the socket's directory if missing and removes a stale socket file; a daemon already answering there is an
 * error (two daemons would each think they own the engine's objects).
 */
async function prepareSocketPath(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o711 });
  const st = await lstat(path).catch(() => undefined);
  if (!st) return;
  if (!st.isSocket()) throw new InvalidArgumentError(`${path} exists and is not a socket: move it away or pick another --socket`);
  const probe = await probeDaemon(path);
  if (probe.state === "answers") throw new EngineUnavailableError(`an svcd daemon (pid ${probe.version.pid}) already serves ${path}: stop it first, or pick another --socket`);
  await unlink(path);
}
