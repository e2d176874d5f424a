// Wires an embedded engine: picks containerd (explicit, env, system or managed), then the image resolver, build
// cache, cache volumes and evaluator for one session.
import { nanoid } from "nanoid";
import { ContainerdClient } from "../containerd/index.js";
import { EngineUnavailableError, InvalidArgumentError } from "../common/errors.js";
import { ownerLabels, currentOwner } from "../common/owner.js";
import { Paths } from "../common/paths.js";
import { ensurePrivateDir } from "../common/private-dir.js";
import { HostProcessRunner, type ProcessRunner } from "../common/process-runner.js";
import type { ProgressEvent } from "../definition/index.js";
import { resolveMirrors, type RegistryMirrors } from "../image/index.js";
import { ensureRootlessContainerd, resolveContainerd, type ContainerdEndpoint } from "../rootless/index.js";
import { BuildCache } from "./build-cache.js";
import { CacheVolumes } from "./cache-volumes.js";
import { EmbeddedEngine } from "./embedded-engine.js";
import { Evaluator } from "./evaluator.js";
import type { HostAdapter } from "./host-adapter.js";
import { ImageResolver } from "./image-resolver.js";
import { HostsStore } from "../network/index.js";
import { ServiceManager } from "./services/service-manager.js";
import { SessionNetwork } from "./services/session-network.js";
import { SessionResources } from "./session-resources.js";
import { reapDeadOwners, reapInBackground } from "./reaper.js";
import { AutoGc } from "./prune/auto-gc.js";
import { CachePruner } from "./prune/cache-pruner.js";
import { gcPolicyFromEnv } from "./prune/gc-policy.js";
import { InUseMarks } from "./prune/in-use.js";
import { pruneExpiredServiceLogs } from "./services/service-logs.js";

export interface EngineOptions {
  containerd?: string | undefined;
  namespace?: string | undefined;
  rootless?: "auto" | boolean | undefined;
  registryMirrors?: Record<string, string> | undefined;
  sessionId?: string | undefined;
  moduleId?: string | undefined;
  serviceGracePeriodMs?: number | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ((event: ProgressEvent) => void) | undefined;
  host: HostAdapter;
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

export async function createEngine(opts: EngineOptions): Promise<EmbeddedEngine> {
  const env = opts.env ?? process.env;
  const namespace = opts.namespace ?? DEFAULT_NAMESPACE;
  if (!NAMESPACE.test(namespace) || namespace.length > 76) throw new InvalidArgumentError(`invalid containerd namespace ${JSON.stringify(namespace)}`);
  const sessionId = opts.sessionId ?? nanoid();
  if (typeof sessionId !== "string" || sessionId === "" || sessionId.length > 128) throw new InvalidArgumentError("sessionId must be a non-empty string of at most 128 characters");
  const rootless = opts.rootless ?? "auto";
  const uid = process.getuid?.() ?? 0;
  if (rootless !== "auto" && typeof rootless !== "boolean") throw new InvalidArgumentError(`rootless must be "auto", true or false, got ${JSON.stringify(rootless)}`);
  const userMode = rootless === true || (rootless === "auto" && uid !== 0);
  if (!userMode && uid !== 0) {
    throw new EngineUnavailableError(`rootless: false needs root (you are uid ${uid}): run as root, or leave rootless at "auto"`);
  }
  if (userMode && uid === 0) {
    throw new InvalidArgumentError(`rootless: true is for unprivileged users; as root svcd runs rootful: leave rootless at "auto"`);
  }
  if (userMode && opts.containerd !== undefined) {
    throw new InvalidArgumentError(
      "the `containerd` option is for root: a rootless engine runs the user's own containerd inside its namespaces; leave it unset",
    );
  }
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
  const owner = currentOwner(sessionId);
  const mirrors: RegistryMirrors | undefined = opts.registryMirrors;
  resolveMirrors(mirrors, env); // validates the option and SVCD_REGISTRY_MIRRORS before any pull
  const images = new ImageResolver({
    client,
    runner,
    mirrors,
    snapshotter: DEFAULT_SNAPSHOTTER,
    labels: ownerLabels(owner),
    onProgress: opts.onProgress,
  });
  const moduleId = opts.moduleId ?? "main";
  const graceMs = opts.serviceGracePeriodMs ?? 10_000;
  if (!Number.isFinite(graceMs) || graceMs < 0) throw new InvalidArgumentError(`invalid serviceGracePeriodMs ${String(graceMs)}`);
  const session = new AbortController();
  const resources = new SessionResources(paths, runner);
  const store = new HostsStore({ paths, runner });
  const network = new SessionNetwork(() => resources.hub(), store, sessionId, runner);
  // What dead engines left is removed before this session creates anything, within a bound that keeps connect fast;
  // whatever a crash left beyond it is reaped in the background (close waits for the pass in progress).
  const reaperDeps = { client, paths, snapshotter: DEFAULT_SNAPSHOTTER, store, hub: () => resources.hub() };
  let reaping: Promise<void> = Promise.resolve();
  try {
    const first = await reapDeadOwners(reaperDeps, { maxObjects: REAP_PASS.maxObjects, deadlineMs: Date.now() + REAP_PASS.budgetMs });
    if (first.more) reaping = reapInBackground(reaperDeps, REAP_PASS, session.signal);
    await pruneExpiredServiceLogs(client, paths.serviceLogsDir, env);
  } catch (err) {
    await resources.close().catch(() => {});
    client.close();
    throw err;
  }
  const pruner = new CachePruner({ client, snapshotter: DEFAULT_SNAPSHOTTER, inUseDir: paths.cacheInUseDir, leaseLabels: ownerLabels(owner) });
  const autoGc = new AutoGc({ run: (limits) => pruner.run({ policy }, limits), stampPath: paths.cacheGcStamp });
  const cache = new BuildCache(client, DEFAULT_SNAPSHOTTER, { inUse: new InUseMarks(paths.cacheInUseDir, owner), onCommit: () => autoGc.trigger() });
  const volumes = new CacheVolumes(paths, runner);
  let services: ServiceManager | undefined;
  const evaluator = new Evaluator({
    client,
    paths,
    runner,
    owner,
    images,
    volumes,
    host: opts.host,
    cache,
    network,
    services: () => services!,
    onProgress: opts.onProgress,
  });
  services = new ServiceManager({
    client,
    paths,
    runner,
    owner,
    sessionId,
    moduleId,
    graceMs,
    builder: evaluator,
    network,
    volumes,
    agent: () => resources.agent(),
    host: opts.host,
    resources,
    sessionSignal: session.signal,
  });
  autoGc.trigger(); // in the background: connect does not wait for it
  return new EmbeddedEngine({ client, evaluator, services, resources, session, network, cache, pruner, autoGc, policy, reaping, pruneLogs: (olderThanMs) => pruneExpiredServiceLogs(client, paths.serviceLogsDir, env, olderThanMs) });
}
