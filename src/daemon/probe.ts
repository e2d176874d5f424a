// Does svcd's daemon answer at a socket? DESIGN.md §2: "answers" means a connect and a version call succeed within
// 1 s. A missing or stale socket file (nobody listening) is "absent"; a socket this user may not open is "denied",
// with whose it is, so the caller can say which group or user to ask for. One departure (docs/architecture.md): once
// the connect is accepted, the version call may take up to DAEMON_START_TIMEOUT_MS — under socket activation the
// connect is accepted by systemd at once and the answer waits for svcd to start, which takes longer than 1 s on a
// slow machine (seconds under emulation); falling back to an embedded engine beside the starting daemon would be wrong.
import { readFileSync, statSync } from "node:fs";
import { connect } from "node:net";
import * as grpc from "@grpc/grpc-js";
import type { VersionResponse__Output } from "./gen/svcd/v1/VersionResponse.js";
import type { StatusResponse__Output } from "./gen/svcd/v1/StatusResponse.js";
import type { EngineClient } from "./gen/svcd/v1/Engine.js";
import { daemonClient, daemonGone } from "./remote-engine.js";

export type DaemonProbe =
  | { state: "answers"; version: VersionResponse__Output }
  | { state: "absent"; reason: string }
  | { state: "denied"; owner: string; group: string; mode: string };

export const PROBE_TIMEOUT_MS = 1_000;
/** How long an accepted connect may wait for the version answer: a socket-activated daemon starting. */
export const DAEMON_START_TIMEOUT_MS = 60_000;

function nameOf(file: string, id: number): string {
  try {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const [name, , num] = line.split(":");
      if (name && Number(num) === id) return name;
    }
  } catch {
    // no database: the number says it
  }
  return String(id);
}

/** Whose the socket is: for "denied" messages. */
function ownership(socket: string): { owner: string; group: string; mode: string } {
  try {
    const st = statSync(socket);
    return { owner: nameOf("/etc/passwd", st.uid), group: nameOf("/etc/group", st.gid), mode: (st.mode & 0o777).toString(8).padStart(4, "0") };
  } catch {
    return { owner: "?", group: "?", mode: "?" };
  }
}

export async function probeDaemon(socket: string, timeoutMs: number = PROBE_TIMEOUT_MS, startTimeoutMs: number = DAEMON_START_TIMEOUT_MS): Promise<DaemonProbe> {
  const { probe, client } = await probeKeepingClient(socket, timeoutMs, startTimeoutMs);
  client?.close();
  return probe;
}

/**
 * probeDaemon, with an answering daemon's client handed to the caller (who closes it): a session opened on it uses
 * the connection the version call made, instead of a second channel's connect (connect(), issue 13).
 */
export async function probeKeepingClient(
  socket: string,
  timeoutMs: number = PROBE_TIMEOUT_MS,
  startTimeoutMs: number = DAEMON_START_TIMEOUT_MS,
): Promise<{ probe: DaemonProbe; client?: EngineClient }> {
  // A plain connect first: it tells "nobody listens" and "not yours" apart, which gRPC folds into UNAVAILABLE.
  const reach = await new Promise<{ ok: true } | { ok: false; code: string; message: string }>((resolve) => {
    const sock = connect({ path: socket });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ ok: false, code: "ETIMEDOUT", message: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
    sock.once("connect", () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ ok: true });
    });
    sock.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ ok: false, code: err.code ?? "EIO", message: err.message });
    });
  });
  if (!reach.ok) {
    if (reach.code === "EACCES" || reach.code === "EPERM") return { probe: { state: "denied", ...ownership(socket) } };
    return { probe: { state: "absent", reason: reach.code === "ENOENT" ? `${socket} does not exist` : reach.code === "ECONNREFUSED" ? `${socket} is stale (nothing listens)` : reach.message } };
  }
  const client = daemonClient(socket);
  try {
    const version = await new Promise<VersionResponse__Output>((resolve, reject) => {
      client.Version({}, { deadline: new Date(Date.now() + Math.max(timeoutMs, startTimeoutMs)) }, (err: grpc.ServiceError | null, answer?: VersionResponse__Output) => (err || !answer ? reject(err ?? new Error("no answer")) : resolve(answer)));
    });
    return { probe: { state: "answers", version }, client };
  } catch (err) {
    client.close();
    return { probe: { state: "absent", reason: `${socket} does not answer as svcd (${(err as grpc.ServiceError).details || (err as Error).message})` } };
  }
}

/** The daemon's Status answer (sessions, clients, memory, descriptors); `gc` collects garbage first where it can. */
export async function daemonStatus(socket: string, opts: { gc?: boolean; timeoutMs?: number } = {}): Promise<StatusResponse__Output> {
  const client = daemonClient(socket);
  try {
    return await new Promise<StatusResponse__Output>((resolve, reject) => {
      client.Status({ gc: opts.gc === true }, { deadline: new Date(Date.now() + (opts.timeoutMs ?? 10_000)) }, (err: grpc.ServiceError | null, answer?: StatusResponse__Output) =>
        err || !answer ? reject(daemonGone(socket, err?.details || "no answer")) : resolve(answer),
      );
    });
  } finally {
    client.close();
  }
}
