// Evaluates container definitions: resolves the image, computes every step's chain key, and builds what the build
// cache lacks — `withNewFile` by applying a one-file tar layer, `withExec` by running the command on a snapshot of
// its parent and committing the result. Concurrent evaluations of one chain in this process share one build: a
// caller's abort ends only its own wait; the build is cancelled once no caller waits for it (SingleFlight).
import { randomBytes } from "node:crypto";
import { ExecError, throwIfAborted, ignoreNotFound } from "../common/errors.js";
import { debug } from "../common/debug.js";
import { PendingWork } from "../common/pending-work.js";
import { SingleFlight } from "../common/single-flight.js";
import { ownerLabels } from "../common/owner.js";
import { digestOf, sha256Digest, resolveContainerPath, type ContainerDef, type ExecResult } from "../definition/index.js";
import type { PulledImage } from "../image/index.js";
import { readSnapshotFile } from "../runtime/index.js";
import type { CachedStep } from "./build-cache.js";
import type { HostAdapter } from "./host-adapter.js";
import type { ImageResolver } from "./image-resolver.js";
import { makePlan, type Plan, type PlannedBinding, type PlannedMount, type PlannedStep } from "./plan.js";
import { fileLayerTar } from "./steps/file-layer.js";
import { accepts, runExecStep, type ExecStepDeps } from "./steps/exec-step.js";

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

export interface EvaluatorDeps extends Omit<ExecStepDeps, "later"> {
  images: ImageResolver;
  host: HostAdapter;
}

const TAR_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar";
/** How long a build's lease protects its half-made objects should this process die. */
const BUILD_LEASE_EXPIRE_MS = 60 * 60 * 1000;

export class Evaluator {
  readonly #deps: EvaluatorDeps;
  readonly #inflight = new SingleFlight<string, CachedStep>({ what: "build step" });
  /** Exec teardowns still under way after their results were returned. */
  readonly #teardowns = new PendingWork();

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
    await this.#teardowns.drain();
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

  #runExec(step: Extract<PlannedStep, { kind: "exec" }>, key: string, parent: string, resolved: ResolvedContainer, signal?: AbortSignal): Promise<CachedStep> {
    const run = { step, key, parent, image: resolved.image, leaseLabels: this.#ownerLabels(), leaseExpireMs: BUILD_LEASE_EXPIRE_MS };
    return runExecStep({ ...this.#deps, later: (work) => this.#teardowns.add(work) }, run, signal);
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
