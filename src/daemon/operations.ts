// Operator calls on a daemon, outside any session (svc ps, svc stop): unary RPCs on its socket.
import type * as grpc from "@grpc/grpc-js";
import { CancelledError } from "../common/errors.js";
import type { ServiceEntry, ServiceRun } from "../engine/index.js";
import type { ServiceLogLines__Output } from "./gen/svcd/v1/ServiceLogLines.js";
import type { ListServicesResponse__Output } from "./gen/svcd/v1/ListServicesResponse.js";
import { daemonClient, daemonGone } from "./remote-engine.js";
import { errorOfUnary } from "./wire-errors.js";

const DEADLINE_MS = 30_000;

function unary<Res>(socket: string, call: (client: ReturnType<typeof daemonClient>, done: (err: grpc.ServiceError | null, res?: Res) => void) => void): Promise<Res> {
  const client = daemonClient(socket);
  return new Promise<Res>((resolve, reject) => {
    call(client, (err, res) => {
      client.close();
      if (err || res === undefined) reject(errorOfUnary(err?.details) ?? daemonGone(socket, err?.details || "no answer"));
      else resolve(res);
    });
  });
}

/** The service containers of the daemon's engine. */
export async function daemonListServices(socket: string): Promise<ServiceEntry[]> {
  const res = await unary<ListServicesResponse__Output>(socket, (c, done) => c.ListServices({}, { deadline: new Date(Date.now() + DEADLINE_MS) }, done));
  return JSON.parse(res.services_json || "[]") as ServiceEntry[];
}

/** Stops service containers of the daemon's engine by id; resolves once they have exited. */
export async function daemonStopServices(socket: string, containerIds: readonly string[], opts: { kill?: boolean } = {}): Promise<void> {
  await unary<object>(socket, (c, done) => c.StopServices({ container_ids: [...containerIds], kill: opts.kill === true }, { deadline: new Date(Date.now() + DEADLINE_MS) }, done));
}

/** The runs the daemon's log directory records (each session's last run of each service). */
export async function daemonServiceRuns(socket: string): Promise<ServiceRun[]> {
  const res = await unary<ListServicesResponse__Output>(socket, (c, done) => c.ListServices({}, { deadline: new Date(Date.now() + DEADLINE_MS) }, done));
  return JSON.parse(res.runs_json || "[]") as ServiceRun[];
}

/** One run's log lines from the daemon (svc logs); ending the iteration cancels the call. */
export async function* daemonServiceLogs(socket: string, containerId: string, opts: { follow?: boolean; tail?: number; signal?: AbortSignal }): AsyncGenerator<string, void, undefined> {
  const client = daemonClient(socket);
  const call = client.ServiceLogs({ container_id: containerId, follow: opts.follow === true, tail: opts.tail ?? -1 });
  const onAbort = () => call.cancel();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    for await (const msg of call as AsyncIterable<ServiceLogLines__Output>) yield* msg.lines;
  } catch (err) {
    const status = err as grpc.ServiceError;
    if (opts.signal?.aborted) throw new CancelledError("svc logs: cancelled", { cause: err });
    throw errorOfUnary(status.details) ?? daemonGone(socket, status.details || String(err));
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
    call.cancel();
    client.close();
  }
}
