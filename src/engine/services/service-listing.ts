// Service containers as containerd holds them, for `svc ps` and `svc stop` in any process: what every engine using
// this containerd runs (each namespace, each session), read from the labels the engines set (common/labels.ts) and
// the tasks' states. Stopping one is signalling its task: the engine that runs it sees the exit and tears the rest
// down, and every client bound to it fails with ServiceError, as when a service exits by itself.
import { OWNER, SERVICE } from "../../common/labels.js";
import { NotFoundError, hasCode } from "../../common/errors.js";
import { Paths } from "../../common/paths.js";
import { ContainerdClient } from "../../containerd/index.js";
import { runningContainerdAddresses } from "../../rootless/index.js";

/** One service container. */
export interface ServiceEntry {
  /** The containerd socket it was found on (absent when listed through a daemon). */
  address?: string;
  namespace: string;
  containerId: string;
  hostname: string;
  session: string;
  /** `running`, `stopped`, `created`, `paused`, or `unknown` (no task: starting or being torn down). */
  state: string;
  image: string;
  /** `8080/tcp`. */
  ports: string[];
  /** Open `up` forwards: `127.0.0.1:9000->8080/tcp`. */
  up: string[];
  /** When the container was created (ISO 8601), or undefined. */
  createdAt?: string;
  /** The pid of the engine process that owns it. */
  ownerPid?: number;
}

const list = (value: string | undefined) => (value ? value.split(",").filter(Boolean) : []);

function isoTime(ts: { seconds?: number | string | null; nanos?: number | null } | null | undefined): string | undefined {
  const seconds = Number(ts?.seconds ?? 0);
  if (!seconds) return undefined;
  return new Date(seconds * 1000 + Math.floor((ts?.nanos ?? 0) / 1e6)).toISOString();
}

/** Every service container in `namespaces` (default: all of this containerd's), sorted by hostname. */
export async function listServices(root: ContainerdClient, namespaces?: readonly string[]): Promise<ServiceEntry[]> {
  const names = namespaces ?? (await root.namespaces.list({})).namespaces.map((n) => n.name);
  const per = await Promise.all(
    names.map(async (namespace) => {
      const client = root.withNamespace(namespace);
      const [{ containers }, { tasks }] = await Promise.all([
        client.containers.list({ filters: [`labels."${OWNER.kind}"==service`] }),
        client.tasks.list({}),
      ]);
      const states = new Map(tasks.map((t) => [t.id, String(t.status).toLowerCase()]));
      return containers.map((c): ServiceEntry => {
        const labels = c.labels ?? {};
        const entry: ServiceEntry = {
          namespace,
          containerId: c.id,
          hostname: labels[SERVICE.hostname] ?? c.id,
          session: labels[OWNER.session] ?? "",
          state: states.get(c.id) ?? "unknown",
          image: c.image,
          ports: list(labels[SERVICE.ports]),
          up: list(labels[SERVICE.up]),
        };
        const created = isoTime(c.created_at);
        if (created) entry.createdAt = created;
        const pid = Number(labels[OWNER.pid]);
        if (Number.isSafeInteger(pid) && pid > 0) entry.ownerPid = pid;
        return entry;
      });
    }),
  );
  return per.flat().sort((a, b) => a.hostname.localeCompare(b.hostname) || a.session.localeCompare(b.session));
}

/**
 * Stops a service container's process: SIGTERM (SIGKILL with `kill`, or after `graceMs`), and resolves once it
 * has exited. NotFoundError when it is not running.
 */
export async function stopServiceContainer(root: ContainerdClient, entry: Pick<ServiceEntry, "namespace" | "containerId" | "hostname">, opts: { kill?: boolean; graceMs?: number } = {}): Promise<void> {
  const client = root.withNamespace(entry.namespace);
  const id = entry.containerId;
  const exited = client.tasks.wait({ container_id: id }).then(
    () => undefined,
    (err: unknown) => {
      if (hasCode(err, "NOT_FOUND")) return undefined;
      throw err;
    },
  );
  const signal = async (sig: number) => {
    try {
      await client.tasks.kill({ container_id: id, signal: sig, all: false });
    } catch (err) {
      if (hasCode(err, "NOT_FOUND")) throw new NotFoundError(`service ${entry.hostname} is not running (no task for ${id})`, { cause: err });
      throw err;
    }
  };
  await signal(opts.kill ? 9 : 15);
  if (opts.kill) return exited;
  let timer: NodeJS.Timeout | undefined;
  const escalate = new Promise<void>((resolve) => {
    timer = setTimeout(() => resolve(signal(9).catch(() => undefined)), opts.graceMs ?? 10_000);
  });
  try {
    await Promise.race([exited, escalate.then(() => exited)]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The services of every engine of this user on the machine, without a daemon: every namespace of every containerd
 * that answers (root: CONTAINERD_ADDRESS, the system's, svcd's managed one; a user: their own rootless one).
 */
export async function listEngineServices(env: NodeJS.ProcessEnv = process.env): Promise<ServiceEntry[]> {
  const uid = process.getuid?.() ?? 0;
  const addresses = await runningContainerdAddresses({ paths: Paths.fromEnv(env, uid === 0 ? undefined : uid), env, root: uid === 0 });
  const per = await Promise.all(
    addresses.map(async (address) => {
      const client = new ContainerdClient({ address, namespace: "default" });
      try {
        return (await listServices(client)).map((s) => ({ ...s, address }));
      } finally {
        client.close();
      }
    }),
  );
  return per.flat();
}

/** stopServiceContainer for an entry listEngineServices found. */
export async function stopEngineService(entry: ServiceEntry, opts: { kill?: boolean; graceMs?: number } = {}): Promise<void> {
  if (!entry.address) throw new NotFoundError(`service ${entry.hostname}: no containerd address (listed through a daemon: stop it through the daemon)`);
  const client = new ContainerdClient({ address: entry.address, namespace: entry.namespace });
  try {
    await stopServiceContainer(client, entry, opts);
  } finally {
    client.close();
  }
}
