// The machine-facing half of an engine, shared by every session one process serves: containerd (system, managed or
// the user's rootless one), the client to it, the hub network and forward agent, the hosts store, the reaper, the
// build-cache GC. An embedded engine owns one core for its one session; the daemon opens one core and many sessions.
import { ContainerdClient } from "../containerd/index.js";
import { EngineUnavailableError, InvalidArgumentError } from "../common/errors.js";
import { currentOwner, ownerLabels } from "../common/owner.js";
import { Paths } from "../common/paths.js";
import { ensurePrivateDir } from "../common/private-dir.js";
import { HostProcessRunner, type ProcessRunner } from "../common/process-runner.js";
import { ensureRootlessContainerd, resolveContainerd, type ContainerdEndpoint } from "../rootless/index.js";
import { HostsStore } from "../network/index.js";
import { reapDeadOwners, reapInBackground } from "./reaper.js";
import { AutoGc } from "./prune/auto-gc.js";
import { CachePruner } from "./prune/cache-pruner.js";
import { gcPolicyFromEnv } from "./prune/gc-policy.js";
import type { GcPolicy } from "./prune/selection.js";
import { pruneExpiredServiceLogs } from "./services/service-logs.js";
import { SessionResources } from "./session-resources.js";

export interface EngineCoreOptions {
  containerd?: string | undefined;
  namespace?: string | undefined;
  rootless?: "auto" | boolean | undefined;
  signal?: AbortSignal | undefined;
  /** The session the core's own objects (the GC's lease) are labelled with. */
  ownerSessionId: string;
  /**
   * "bounded" (embedded connect): one pass within a time budget, the rest in the background. "all" (the daemon): every
   * object dead engines left is gone before the core is returned, so nothing is served beside a predecessor's leftovers.
   */
  reap?: "bounded" | "all";
  /** Overrides for tests and the daemon. */
  paths?: Paths | undefined;
  runner?: ProcessRunner | undefined;
  env?: NodeJS.ProcessEnv | undefined;
}

const NAMESPACE = /^[A-Za-z0-9]+([._-][A-Za-z0-9]+)*$/;
export const DEFAULT_NAMESPACE = "svcd";
export const DEFAULT_SNAPSHOTTER = "overlayfs";
/** One reaper pass: at most this many objects, taken within this long (a pass in progress finishes its object). */
const REAP_PASS = { maxObjects: 64, budgetMs: 2_000 };

export interface EngineCore {
  readonly env: NodeJS.ProcessEnv;
  readonly namespace: string;
  readonly paths: Paths;
  readonly runner: ProcessRunner;
  /** Rootless: the user's own containerd, inside its namespaces. */
  readonly userMode: boolean;
  readonly endpoint: ContainerdEndpoint;
  readonly client: ContainerdClient;
  readonly resources: SessionResources;
  readonly store: HostsStore;
  readonly policy: GcPolicy;
  readonly pruner: CachePruner;
  readonly autoGc: AutoGc;
  pruneLogs(olderThanMs?: number): Promise<{ removed: number; freedBytes: number }>;
  /** Stops the agent, leaves the hub, waits for background reaping and GC, closes the client. Idempotent. */
  close(): Promise<void>;
}

/** Which mode an engine of this process runs in, with the errors DESIGN.md §2 gives for impossible choices. */
export function engineMode(rootless: "auto" | boolean | undefined, containerd: string | undefined): { userMode: boolean; uid: number } {
  const mode = rootless ?? "auto";
  const uid = process.getuid?.() ?? 0;
  if (mode !== "auto" && typeof mode !== "boolean") throw new InvalidArgumentError(`rootless must be "auto", true or false, got ${JSON.stringify(mode)}`);
  const userMode = mode === true || (mode === "auto" && uid !== 0);
  if (!userMode && uid !== 0) {
    throw new EngineUnavailableError(`rootless: false needs root (you are uid ${uid}): run as root, or leave rootless at "auto"`);
  }
  if (userMode && uid === 0) {
    throw new InvalidArgumentError(`rootless: true is for unprivileged users; as root svcd runs rootful: leave rootless at "auto"`);
  }
  if (userMode && containerd !== undefined) {
    throw new InvalidArgumentError(
      "the `containerd` option is for root: a rootless engine runs the user's own containerd inside its namespaces; leave it unset",
    );
  }
  return { userMode, uid };
}

export function assertNamespace(namespace: string): void {
  if (typeof namespace !== "string" || !NAMESPACE.test(namespace) || namespace.length > 76) {
    throw new InvalidArgumentError(`invalid containerd namespace ${JSON.stringify(namespace)}`);
  }
}

export async function openEngineCore(opts: EngineCoreOptions): Promise<EngineCore> {
  const env = opts.env ?? process.env;
  const namespace = opts.namespace ?? DEFAULT_NAMESPACE;
  assertNamespace(namespace);
  const { userMode, uid } = engineMode(opts.rootless, opts.containerd);
  const paths = opts.paths ?? Paths.fromEnv(env, userMode ? uid : undefined);
  let runner: ProcessRunner;
  let endpoint: ContainerdEndpoint;
  if (userMode) {
    const own = await ensureRootlessContainerd({ paths, uid, env, signal: opts.signal });
    runner = opts.runner ?? own.runner;
    endpoint = { address: own.address, managed: true, source: "managed", started: own.started };
    await ensurePrivateDir(paths, paths.locksDir);
  } else {
    await ensurePrivateDir(paths, paths.locksDir); // the roots and the lock dir flock(1) files go in, with their modes
    runner = opts.runner ?? new HostProcessRunner();
    endpoint = await resolveContainerd({ address: opts.containerd, paths, runner, env, signal: opts.signal });
  }
  const policy = gcPolicyFromEnv(env, paths.state); // validates SVCD_CACHE_* before anything starts
  const client = new ContainerdClient({ address: endpoint.address, namespace, signalAll: !userMode });
  const resources = new SessionResources(paths, runner);
  const store = new HostsStore({ paths, runner });
  const background = new AbortController();
  // What dead engines left is removed before this core serves anything; an embedded connect bounds the pass and
  // reaps whatever a crash left beyond it in the background (close waits for the pass in progress).
  const reaperDeps = { client, paths, snapshotter: DEFAULT_SNAPSHOTTER, store, hub: () => resources.hub() };
  let reaping: Promise<void> = Promise.resolve();
  try {
    if (opts.reap === "all") {
      while ((await reapDeadOwners(reaperDeps, { signal: opts.signal })).more);
      await resources.close(); // the reap may have joined the hub: an idle daemon holds nothing but containerd
      await pruneExpiredServiceLogs(client, paths.serviceLogsDir, env);
    } else {
      // The old service logs' pass reads other objects than the reap: both at once (a fresh process's connect, issue 13).
      const [first] = await Promise.all([
        reapDeadOwners(reaperDeps, { maxObjects: REAP_PASS.maxObjects, deadlineMs: Date.now() + REAP_PASS.budgetMs }),
        pruneExpiredServiceLogs(client, paths.serviceLogsDir, env),
      ]);
      if (first.more) reaping = reapInBackground(reaperDeps, REAP_PASS, background.signal);
    }
  } catch (err) {
    await resources.close().catch(() => {});
    client.close();
    throw err;
  }
  const owner = currentOwner(opts.ownerSessionId);
  const pruner = new CachePruner({ client, snapshotter: DEFAULT_SNAPSHOTTER, inUseDir: paths.cacheInUseDir, leaseLabels: ownerLabels(owner) });
  const autoGc = new AutoGc({ run: (limits) => pruner.run({ policy }, limits), stampPath: paths.cacheGcStamp });
  autoGc.trigger(); // in the background: connect does not wait for it
  let closing: Promise<void> | undefined;
  return {
    env,
    namespace,
    paths,
    runner,
    userMode,
    endpoint,
    client,
    resources,
    store,
    policy,
    pruner,
    autoGc,
    pruneLogs: (olderThanMs) => pruneExpiredServiceLogs(client, paths.serviceLogsDir, env, olderThanMs),
    close() {
      closing ??= (async () => {
        background.abort();
        await reaping;
        await autoGc.close();
        await resources.close().catch(() => {});
        client.close();
      })();
      return closing;
    },
  };
}
