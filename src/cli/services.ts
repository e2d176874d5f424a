// Where `svc ps`, `svc stop` and `svc logs` find services: the daemon when one answers at the socket connect()
// would use (its engine's services), else every engine of this user on the machine, read from containerd.
// A service is named `<hostname>[@<session>]`; a unique prefix of either part is enough (DESIGN.md §7).
import { join } from "node:path";
import { Paths } from "../common/paths.js";
import { ContainerdClient } from "../containerd/index.js";
import { daemonListServices, daemonServiceLogs, daemonServiceRuns, daemonSocketPath, daemonStopServices, probeDaemon } from "../daemon/index.js";
import { followLogFile, listEngineServices, listServiceRuns, stopEngineService, type ServiceEntry } from "../engine/index.js";
import { UsageError } from "./exit-codes.js";
import { NotFoundError } from "../common/errors.js";

export type { ServiceEntry };

export interface ServiceSource {
  /** Where the list comes from, for messages. */
  readonly where: string;
  list(): Promise<ServiceEntry[]>;
  stop(entries: ServiceEntry[], opts: { kill: boolean }): Promise<void>;
  /** Running services and the recorded last runs of stopped ones, as entries (a stopped one's state "exited"). */
  withRuns(): Promise<ServiceEntry[]>;
  logs(entry: ServiceEntry, opts: { follow: boolean; tail?: number; signal: AbortSignal }): AsyncIterable<string>;
}

/** Running entries, plus a "exited" entry for each recorded run no running entry is. */
function mergeRuns(running: ServiceEntry[], runs: { id: string; hostname: string; sessionId: string }[]): ServiceEntry[] {
  const ids = new Set(running.map((e) => e.containerId));
  const stopped = runs
    .filter((r) => !ids.has(r.id))
    .map((r): ServiceEntry => ({ namespace: "", containerId: r.id, hostname: r.hostname, session: r.sessionId, state: "exited", image: "", ports: [], up: [] }));
  return [...running, ...stopped];
}

export async function serviceSource(env: NodeJS.ProcessEnv = process.env): Promise<ServiceSource> {
  const socket = daemonSocketPath(undefined, env);
  const probe = await probeDaemon(socket);
  if (probe.state === "answers") {
    return {
      where: `the daemon at ${socket}`,
      list: () => daemonListServices(socket),
      stop: (entries, opts) => daemonStopServices(socket, entries.map((e) => e.containerId), opts),
      withRuns: async () => mergeRuns(await daemonListServices(socket), await daemonServiceRuns(socket)),
      logs: (entry, opts) => daemonServiceLogs(socket, entry.containerId, opts),
    };
  }
  const uid = process.getuid?.() ?? 0;
  const logsDir = Paths.fromEnv(env, uid === 0 ? undefined : uid).serviceLogsDir;
  return {
    where: "this machine's engines",
    list: () => listEngineServices(env),
    stop: async (entries, opts) => {
      await Promise.all(entries.map((e) => stopEngineService(e, opts)));
    },
    withRuns: async () => mergeRuns(await listEngineServices(env), await listServiceRuns(logsDir)),
    logs: (entry, opts) => engineLogs(logsDir, entry, opts),
  };
}

/** `hostname@session`, the name svc shows and takes. */
export function serviceName(e: Pick<ServiceEntry, "hostname" | "session">): string {
  return e.session ? `${e.hostname}@${e.session}` : e.hostname;
}

/** The one service `name` means among `entries`: NotFoundError for none, UsageError listing them for several. */
export function resolveServiceName(name: string, entries: readonly ServiceEntry[]): ServiceEntry {
  const at = name.lastIndexOf("@");
  const host = at >= 0 ? name.slice(0, at) : name;
  const session = at >= 0 ? name.slice(at + 1) : undefined;
  if (!host) throw new UsageError(`invalid service name ${JSON.stringify(name)}: use <hostname>[@<session>]`);
  const byPart = entries.filter((e) => e.hostname.startsWith(host) && (session === undefined || e.session.startsWith(session)));
  // An exact hostname (and session) wins over longer ones it is a prefix of.
  const exact = byPart.filter((e) => e.hostname === host && (session === undefined || e.session === session));
  const matches = exact.length > 0 ? exact : byPart;
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new NotFoundError(`no service ${JSON.stringify(name)} (svc ps lists them)`);
  throw new UsageError(`${JSON.stringify(name)} is ambiguous: ${matches.map(serviceName).join(", ")}; name one of them`);
}

/** A run's log from this user's own log directory; a running service is followed until its task exits. */
async function* engineLogs(dir: string, entry: ServiceEntry, opts: { follow: boolean; tail?: number; signal: AbortSignal }): AsyncGenerator<string, void, undefined> {
  let client: ContainerdClient | undefined;
  let until: Promise<unknown> | undefined;
  if (opts.follow) {
    if (entry.address && entry.state === "running") {
      client = new ContainerdClient({ address: entry.address, namespace: entry.namespace });
      until = client.tasks.wait({ container_id: entry.containerId }).catch(() => undefined);
    } else {
      until = Promise.resolve(); // nothing runs: what is there, then the end
    }
  }
  try {
    yield* followLogFile({ path: join(dir, `${entry.containerId}.log`), what: `service ${serviceName(entry)}`, follow: opts.follow, tail: opts.tail, until, signal: opts.signal });
  } finally {
    client?.close();
  }
}
