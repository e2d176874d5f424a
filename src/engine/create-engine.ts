// Wires an engine session: the image resolver, build cache, cache volumes, evaluator and services of one session on
// an engine core. `createEngine` is the embedded engine (a core of its own, closed with its one session);
// `openSession` is how the daemon adds sessions to its shared core.
import { setMaxListeners } from "node:events";
import { nanoid } from "nanoid";
import { InvalidArgumentError } from "../common/errors.js";
import { currentOwner, ownerLabels } from "../common/owner.js";
import type { Paths } from "../common/paths.js";
import type { ProcessRunner } from "../common/process-runner.js";
import type { ProgressEvent } from "../definition/index.js";
import { resolveMirrors, type RegistryMirrors } from "../image/index.js";
import { BuildCache } from "./build-cache.js";
import { CacheVolumes } from "./cache-volumes.js";
import { currentCaller } from "./caller.js";
import { claimSession } from "./session-claim.js";
import { EmbeddedEngine } from "./embedded-engine.js";
import { DEFAULT_SNAPSHOTTER, openEngineCore, type EngineCore } from "./engine-core.js";
import { Evaluator } from "./evaluator.js";
import type { HostAdapter } from "./host-adapter.js";
import { ImageResolver } from "./image-resolver.js";
import { InUseMarks } from "./prune/in-use.js";
import { ServiceManager } from "./services/service-manager.js";
import { SessionNetwork } from "./services/session-network.js";

export { DEFAULT_NAMESPACE, DEFAULT_SNAPSHOTTER } from "./engine-core.js";

/** What one session is opened with (DESIGN.md §6: the options that travel per session). */
export interface SessionOptions {
  registryMirrors?: Record<string, string> | undefined;
  sessionId?: string | undefined;
  moduleId?: string | undefined;
  serviceGracePeriodMs?: number | undefined;
  onProgress?: ((event: ProgressEvent) => void) | undefined;
  host: HostAdapter;
}

export interface EngineOptions extends SessionOptions {
  containerd?: string | undefined;
  namespace?: string | undefined;
  rootless?: "auto" | boolean | undefined;
  signal?: AbortSignal | undefined;
  /** Overrides for tests and the daemon. */
  paths?: Paths | undefined;
  runner?: ProcessRunner | undefined;
  env?: NodeJS.ProcessEnv | undefined;
}

/** The session id a caller asked for, or a fresh one; checked before anything starts. */
export function sessionIdOf(sessionId: string | undefined): string {
  const id = sessionId ?? nanoid();
  if (typeof id !== "string" || id === "" || id.length > 128) throw new InvalidArgumentError("sessionId must be a non-empty string of at most 128 characters");
  return id;
}

export function graceOf(serviceGracePeriodMs: number | undefined): number {
  const graceMs = serviceGracePeriodMs ?? 10_000;
  if (typeof graceMs !== "number" || !Number.isFinite(graceMs) || graceMs < 0) throw new InvalidArgumentError(`invalid serviceGracePeriodMs ${String(graceMs)}`);
  return graceMs;
}

/** An embedded engine: its own core, one session; closing the session closes the core. */
export async function createEngine(opts: EngineOptions): Promise<EmbeddedEngine> {
  const sessionId = sessionIdOf(opts.sessionId);
  graceOf(opts.serviceGracePeriodMs);
  const core = await openEngineCore({ ...opts, ownerSessionId: sessionId, reap: "bounded" });
  try {
    return await openSession(core, { ...opts, sessionId }, { closeCore: true });
  } catch (err) {
    await core.close();
    throw err;
  }
}

/** A session on a core. With `closeCore`, the session's close also closes the core (the embedded engine). */
export async function openSession(core: EngineCore, opts: SessionOptions, own: { closeCore: boolean } = { closeCore: false }): Promise<EmbeddedEngine> {
  const { client, paths, runner, env, resources, store } = core;
  const sessionId = sessionIdOf(opts.sessionId);
  const graceMs = graceOf(opts.serviceGracePeriodMs);
  const owner = currentOwner(sessionId);
  const mirrors: RegistryMirrors | undefined = opts.registryMirrors;
  resolveMirrors(mirrors, env); // validates the option and SVCD_REGISTRY_MIRRORS before any pull
  const claim = await claimSession(paths, runner, sessionId);
  // Progress goes to the session's listener, and to the caller whose call caused it when several share the session.
  const onProgress = (event: ProgressEvent) => {
    opts.onProgress?.(event);
    currentCaller()?.onProgress?.(event);
  };
  const images = new ImageResolver({ client, runner, mirrors, snapshotter: DEFAULT_SNAPSHOTTER, labels: ownerLabels(owner), onProgress });
  const moduleId = opts.moduleId ?? "main";
  const session = new AbortController();
  // Every call of the session without a signal of its own waits on this one (50 services starting at once add 50
  // listeners, each removed when its wait ends): no listener limit, so no MaxListenersExceededWarning at scale.
  setMaxListeners(0, session.signal);
  const network = new SessionNetwork(() => resources.hub(), store, sessionId, runner);
  const cache = new BuildCache(client, DEFAULT_SNAPSHOTTER, { inUse: new InUseMarks(paths.cacheInUseDir, owner), onCommit: () => core.autoGc.trigger() });
  const volumes = new CacheVolumes(paths, runner);
  let services: ServiceManager | undefined;
  const evaluator = new Evaluator({ client, paths, runner, owner, images, volumes, host: opts.host, cache, network, services: () => services!, onProgress });
  services = new ServiceManager({
    onProgress,
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
  return new EmbeddedEngine({
    sessionId,
    moduleId,
    core,
    evaluator,
    services,
    session,
    network,
    cache,
    // The claim goes last: a new engine may take the id only once nothing of this session is left.
    afterClose: async () => {
      if (own.closeCore) await core.close();
      claim.release();
    },
  });
}
