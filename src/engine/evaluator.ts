// Evaluates container definitions: resolves the image, computes every step's chain key, and builds what the build
// cache lacks — `withNewFile` by applying a one-file tar layer, `withExec` by running the command on a snapshot of
// its parent and committing the result. Concurrent evaluations of one chain in this process share one build: a
// caller's abort ends only its own wait; the build is cancelled once no caller waits for it (SingleFlight).
import { randomBytes } from "node:crypto";
import type { ContainerdClient } from "../containerd/index.js";
import { ExecError, throwIfAborted, ignoreNotFound } from "../common/errors.js";
import { debug } from "../common/debug.js";
import { SingleFlight } from "../common/single-flight.js";
import { OWNER } from "../common/labels.js";
import { ownerLabels, type Owner } from "../common/owner.js";
import type { Paths } from "../common/paths.js";
import type { ProcessRunner } from "../common/process-runner.js";
import { digestOf, sha256Digest, hostHash, resolveContainerPath, type ContainerDef, type ExecResult, type ProgressEvent } from "../definition/index.js";
import type { PulledImage } from "../image/index.js";
import { readSnapshotFile, startContainer } from "../runtime/index.js";
import type { BuildCache, CachedStep } from "./build-cache.js";
import type { CacheVolumes } from "./cache-volumes.js";
import type { HostAdapter } from "./host-adapter.js";
import type { ImageResolver } from "./image-resolver.js";
import { makePlan, type Plan, type PlannedBinding, type PlannedMount, type PlannedStep } from "./plan.js";
import { fileLayerTar } from "./steps/file-layer.js";
import type { BoundServices, ServiceManager } from "./services/service-manager.js";
import { bindInBackground } from "./services/service-bindings.js";
import { readyToStart, type SessionNetwork } from "./services/session-network.js";

const log = debug("engine");

/** The last exec of a build: its exit code now, its output read back only when asked for. */
export interface ExecOutcome {
  exitCode: number;
  read(signal?: AbortSignal): Promise<ExecResult>;
}

/** A definition with its image resolved and every step's chain key computed; nothing run yet. */
export interface ResolvedContainer {
  plan: Plan;
  image: PulledImage;
  /** Chain key of each step (the build snapshot's name), in order. */
  keys: string[];
  /** The snapshot the container's filesystem is: the last step's, or the image's top layer. */
  top: string;
  digest: string;
}

export interface EvaluatorDeps {
  client: ContainerdClient;
  paths: Paths;
  runner: ProcessRunner;
  owner: Owner;
  images: ImageResolver;
  volumes: CacheVolumes;
  host: HostAdapter;
  cache: BuildCache;
  network: SessionNetwork;
  /** The session's services (a getter: the manager builds its containers with this evaluator). */
  services: () => ServiceManager;
  onProgress?: ((event: ProgressEvent) => void) | undefined;
}

const TAR_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar";
/** How long a build's lease protects its half-made objects should this process die. */
const BUILD_LEASE_EXPIRE_MS = 60 * 60 * 1000;

export class Evaluator {
  readonly #deps: EvaluatorDeps;
  readonly #inflight = new SingleFlight<string, CachedStep>({ what: "build step" });
  /** Exec teardowns still under way after their results were returned. */
  readonly #teardowns = new Set<Promise<void>>();

  constructor(deps: EvaluatorDeps) {
    this.#deps = deps;
  }

  /** Resolves the image and computes chain keys and the definition digest, without running anything. */
  async resolve(def: ContainerDef, signal?: AbortSignal): Promise<ResolvedContainer> {
    const first = makePlan(def, {}); // validates paths and finds the image before any I/O
    const image = await this.#deps.images.resolve(first.ref, signal);
    const plan = makePlan(def, image.config);
    const keys: string[] = [];
    let parent = digestOf({ image: image.manifestDigest, snapshot: image.chainId });
    for (const step of plan.steps) {
      parent = digestOf({ parent, step: await this.#stepMaterial(step, signal) });
      keys.push(parent);
    }
    const digest = digestOf({
      chain: parent,
      config: plan.config,
      exposedPorts: plan.exposedPorts,
      mounts: await this.#mountMaterial(plan.mounts, signal),
      bindings: await this.#bindingMaterial(plan.bindings, signal),
      healthcheck: plan.healthcheckOverride, // undefined (dropped) unless withHealthcheck/withoutHealthcheck: old digests stay
    });
    return { plan, image, keys, top: keys.at(-1) ?? image.chainId, digest };
  }

  /** Builds every step the cache lacks; returns the resolution and the last exec's result. */
  async build(def: ContainerDef, signal?: AbortSignal): Promise<{ resolved: ResolvedContainer; lastExec?: ExecOutcome }> {
    const resolved = await this.resolve(def, signal);
    const whole = await this.#cachedChain(resolved, signal);
    if (whole) return whole;
    const { plan, keys, image } = resolved;
    let lastExec: ExecOutcome | undefined;
    let parent = image.chainId;
    for (const [i, step] of plan.steps.entries()) {
      const key = keys[i]!;
      const built = await this.#buildStep(step, key, parent, resolved, signal);
      if (step.kind === "exec") {
        const exitCode = built.fresh?.exitCode ?? built.exec?.exitCode ?? 0;
        if (!accepts(step.expect, exitCode)) {
          const out = await this.#deps.cache.outputs(built, signal);
          throw new ExecError({ command: step.args, exitCode, stdout: out.stdout, stderr: out.stderr });
        }
        if (i === plan.lastExec) lastExec = { exitCode, read: (s) => this.#deps.cache.outputs(built, s) };
      }
      parent = key;
    }
    return lastExec ? { resolved, lastExec } : { resolved };
  }

  /**
   * A chain whose top step is cached needs nothing below it (a snapshot's parents cannot go while it exists, and a
   * step was only committed once its exit code was accepted): the top and the last exec are looked up at once,
   * instead of one lookup per step in turn (a later process's cached build, issue 13). Undefined: build as usual.
   */
  async #cachedChain(resolved: ResolvedContainer, signal?: AbortSignal): Promise<{ resolved: ResolvedContainer; lastExec?: ExecOutcome } | undefined> {
    const { plan, keys } = resolved;
    const last = plan.steps.length - 1;
    if (last < 0) return undefined;
    const wanted = plan.lastExec >= 0 && plan.lastExec !== last ? [last, plan.lastExec] : [last];
    const found = await Promise.all(wanted.map((i) => this.#deps.cache.lookup(keys[i]!, signal)));
    if (found.some((f) => f === undefined)) return undefined;
    const exec = plan.lastExec >= 0 ? found[wanted.indexOf(plan.lastExec)]! : undefined;
    const execStep = plan.lastExec >= 0 ? plan.steps[plan.lastExec]! : undefined;
    if (execStep?.kind === "exec" && !accepts(execStep.expect, exec?.exec?.exitCode ?? 0)) return undefined; // the walk reports it
    for (const step of plan.steps) if (step.kind === "exec") this.#deps.onProgress?.({ type: "exec", command: step.args, cached: true });
    if (!exec) return { resolved };
    return { resolved, lastExec: { exitCode: exec.exec?.exitCode ?? 0, read: (s) => this.#deps.cache.outputs(exec, s) } };
  }

  /**
   * Resolves once no build step, exec teardown or pull is under way, abandoned ones included (the session's end
   * waits for it).
   */
  async drain(): Promise<void> {
    await Promise.all([this.#inflight.drain(), this.#deps.images.drain()]);
    while (this.#teardowns.size > 0) await Promise.all([...this.#teardowns]);
  }

  /** Reads a file of the evaluated container through a short task (no host-side mount). */
  async readFile(def: ContainerDef, path: string, signal?: AbortSignal): Promise<Buffer> {
    const { resolved } = await this.build(def, signal);
    const absolute = resolveContainerPath(path, resolved.plan.config.workdir, "file path");
    return readSnapshotFile(this.#deps.client, absolute, {
      parent: resolved.top,
      snapshotter: this.#deps.cache.snapshotter,
      paths: this.#deps.paths,
      runner: this.#deps.runner,
      owner: this.#deps.owner,
      signal,
    });
  }

  #buildStep(step: PlannedStep, key: string, parent: string, resolved: ResolvedContainer, signal?: AbortSignal): Promise<CachedStep> {
    // The build runs under its own signal (aborted when every waiter has gone), never the first caller's.
    return this.#inflight.run(key, async (shared) => {
      const cached = await this.#deps.cache.lookup(key, shared);
      if (cached) {
        if (step.kind === "exec") this.#deps.onProgress?.({ type: "exec", command: step.args, cached: true });
        return cached;
      }
      throwIfAborted(shared);
      const made = step.kind === "newFile" ? await this.#applyFile(step, key, parent, shared) : await this.#runExec(step, key, parent, resolved, shared);
      if (!made.fresh || made.exec) this.#deps.cache.remember(made); // an uncommitted (failed) exec runs again next time
      return made;
    }, signal);
  }

  async #applyFile(step: Extract<PlannedStep, { kind: "newFile" }>, key: string, parent: string, signal?: AbortSignal): Promise<CachedStep> {
    const { client, cache } = this.#deps;
    const snapshotter = cache.snapshotter;
    const tar = await fileLayerTar({ path: step.path, contents: step.contents, mode: step.permissions });
    const digest = sha256Digest(tar);
    await client.withLeaseScope(
      async (leased) => {
        await leased.writeContent({ ref: `svcd-file-${digest}`, expected: digest, total: tar.length, source: tar, signal });
        const active = `svcd-apply-${randomBytes(8).toString("hex")}`;
        const { mounts } = await leased.snapshots.prepare({ snapshotter, key: active, parent, labels: this.#ownerLabels() }, { signal });
        try {
          await leased.diff.apply({ diff: { media_type: TAR_MEDIA_TYPE, digest, size: tar.length }, mounts }, { signal });
          await cache.commit(leased, { name: key, key: active }, signal);
        } finally {
          await ignoreNotFound(client.snapshots.remove({ snapshotter, key: active }));
        }
      },
      { expireMs: BUILD_LEASE_EXPIRE_MS, labels: this.#ownerLabels() },
    );
    log("file %s → %s", step.path, key);
    return { key };
  }

  /**
   * Runs an exec step. Its result is back once its process has exited and, when its exit code is accepted, its rootfs
   * and outputs are committed: the task, container, lease, network and bindings are removed after that, in the
   * background (drain() waits for them), so a caller's time to output does not include its teardown.
   */
  async #runExec(step: Extract<PlannedStep, { kind: "exec" }>, key: string, parent: string, resolved: ResolvedContainer, signal?: AbortSignal): Promise<CachedStep> {
    const { client, cache, paths, runner, owner } = this.#deps;
    this.#deps.onProgress?.({ type: "exec", command: step.args, cached: false });
    const { mounts, volumes } = await this.#deps.volumes.mountPlanned(step.mounts, signal);
    const undo: (() => Promise<void> | void)[] = [];
    const cleanUp = async (): Promise<void> => {
      for (const fn of undo.reverse()) await Promise.resolve().then(fn).catch((err) => log("cleanup: %s", err));
      for (const v of volumes) await v.release();
    };
    let handedOff = false;
    let bound: BoundServices | undefined;
    try {
      // Bound services start (to healthy) while the client's network, container and task are made; its process
      // starts once they are up (beforeStart), and one that exits meanwhile cancels it.
      const services = this.#deps.services();
      const binding = step.bindings.length > 0 ? bindInBackground((b, s) => services.bind(b, s), step.bindings, signal) : undefined;
      if (binding) undo.push(() => binding.release());
      const id = `svcd-${hostHash(owner.sessionId)}-exec-${randomBytes(6).toString("hex")}`;
      // Every exec joins the hub: it reaches the session's services by name and the outside through egress
      // (apt-get, pip). The attach runs while the snapshot and record are made: the task is created once its netns
      // and files exist, and its process starts once it is on the bridge.
      const network = this.#deps.network;
      const pending = await network.attachInBackground(id, { hostname: hostHash(key), signal });
      undo.push(async () => {
        const attached = await pending.attached.catch(() => undefined);
        if (attached) network.detachLater(attached);
      });
      let ready!: (made: CachedStep) => void;
      const result = new Promise<CachedStep>((resolve) => (ready = resolve));
      // The lease protects the outputs between their write and the commit that references them: it is made while
      // the container runs, not on the way to it.
      const lease = client.beginLease({ expireMs: BUILD_LEASE_EXPIRE_MS, labels: this.#ownerLabels() });
      undo.push(() => lease.release());
      const run = (async () => {
        const task = await startContainer(client, {
          id,
          image: { name: resolved.image.name, chainId: parent, snapshotter: cache.snapshotter, config: resolved.image.config },
          args: step.args,
          env: step.config.env,
          cwd: step.config.workdir,
          user: step.config.user || "0:0",
          ...(step.stdin !== undefined ? { stdin: step.stdin } : {}),
          ...(step.insecureRootCapabilities ? { insecureRootCapabilities: true } : {}),
          mounts,
          networkNamespace: pending.netnsPath,
          hostsFile: pending.hostsPath,
          resolvConf: pending.resolvConfPath,
          hostname: hostHash(key),
          labels: { [OWNER.kind]: "exec" },
          owner,
          paths,
          runner,
          ...(signal ? { signal } : {}),
          maxOutputBytes: 64 * 1024 * 1024,
          beforeCreate: () => pending.created,
          beforeStart: async () => {
            bound = await readyToStart(pending, binding);
          },
        });
        let made: CachedStep;
        try {
          const runSignal = bound ? AbortSignal.any([bound.signal, ...(signal ? [signal] : [])]) : signal;
          const { exitCode } = await task.wait({ signal: runSignal });
          const out = task.output();
          const fresh: ExecResult = { exitCode, stdout: out.stdout.toString("utf8"), stderr: out.stderr.toString("utf8") };
          // Failures are not cached. Only a committed exec is remembered (by its outputs' digests), not its text.
          made = accepts(step.expect, exitCode)
            ? { key, exec: await cache.commitExec(await lease.leased, { name: key, key: task.rootfs.key, result: fresh }, signal), fresh }
            : { key, fresh };
        } catch (err) {
          await task.delete().catch((e: unknown) => log("%s: cleanup after failure: %s", id, e));
          throw err;
        }
        log("exec %j exit %d → %s", step.args, made.fresh!.exitCode, key);
        ready(made);
        // Its bound services are not needed once it has exited: their stop overlaps its removal.
        if (binding) void binding.release().catch((err: unknown) => log("%s: release of its bindings: %s", id, err));
        await task.delete();
      })();
      // The run settles (fails, or is removed) only after `result` when it had one.
      const made = await Promise.race([result, run.then(() => result)]);
      this.#later(run.catch((err: unknown) => log("%s: teardown: %s", id, err)).then(cleanUp));
      handedOff = true;
      return made;
    } catch (err) {
      // A bound service that died is the reason the client was cancelled: say so.
      if (bound?.signal.aborted && !signal?.aborted) throw bound.signal.reason;
      throw err;
    } finally {
      if (!handedOff) await cleanUp();
    }
  }

  /** Tracks work that goes on after its caller has its result (drain() waits for it). */
  #later(work: Promise<void>): void {
    this.#teardowns.add(work);
    void work.finally(() => this.#teardowns.delete(work));
  }

  /** What of a step enters its chain key: everything that can change its result, never `expect`. */
  async #stepMaterial(step: PlannedStep, signal?: AbortSignal): Promise<unknown> {
    if (step.kind === "newFile") return step;
    return {
      kind: "exec",
      args: step.args,
      stdin: step.stdin,
      insecureRootCapabilities: step.insecureRootCapabilities, // undefined (dropped) unless set: old keys stay valid
      config: step.config,
      mounts: await this.#mountMaterial(step.mounts, signal),
      bindings: await this.#bindingMaterial(step.bindings, signal),
    };
  }

  async #bindingMaterial(bindings: PlannedBinding[], signal?: AbortSignal): Promise<unknown[]> {
    const services = this.#deps.services();
    return Promise.all(bindings.map(async (b) => ({ alias: b.alias, service: await services.digest(b.service, signal) })));
  }

  async #mountMaterial(mounts: PlannedMount[], signal?: AbortSignal): Promise<unknown[]> {
    const out: unknown[] = [];
    for (const m of mounts) {
      if (m.kind === "cache") out.push(m);
      else out.push({ ...m, directory: { contentDigest: await this.#deps.host.directoryDigest(m.directory.hostPath, signal) } });
    }
    return out;
  }

  #ownerLabels(): Record<string, string> {
    return ownerLabels(this.#deps.owner);
  }
}

function accepts(expect: "SUCCESS" | "FAILURE" | "ANY", exitCode: number): boolean {
  return expect === "ANY" || (expect === "SUCCESS" ? exitCode === 0 : exitCode !== 0);
}
