// An exec build step: the command runs in a container on a snapshot of its parent step, joined to the session's hub
// network with its bindings' aliases in its hosts file. Its result is back once its process has exited and, when its
// exit code is accepted, its rootfs and outputs are committed as the step's snapshot; its task, container, lease,
// network and volumes are removed after that, in the background (the caller's `later`, which the session's end
// waits for), so a caller's time to output does not include its teardown (issue 13).
import { randomBytes } from "node:crypto";
import type { ContainerdClient } from "../../containerd/index.js";
import { debug } from "../../common/debug.js";
import { OWNER } from "../../common/labels.js";
import type { Owner } from "../../common/owner.js";
import type { Paths } from "../../common/paths.js";
import type { ProcessRunner } from "../../common/process-runner.js";
import { hostHash, type ExecResult, type ProgressEvent } from "../../definition/index.js";
import type { PulledImage } from "../../image/index.js";
import { startContainer } from "../../runtime/index.js";
import type { BuildCache, CachedStep } from "../build-cache.js";
import type { CacheVolumes } from "../cache-volumes.js";
import type { PlannedStep } from "../plan.js";
import type { BoundServices, ServiceManager } from "../services/service-manager.js";
import { bindInBackground } from "../services/service-bindings.js";
import { readyToStart, type SessionNetwork } from "../services/session-network.js";

const log = debug("engine");

/** What an exec step needs of its evaluator. */
export interface ExecStepDeps {
  client: ContainerdClient;
  paths: Paths;
  runner: ProcessRunner;
  owner: Owner;
  volumes: CacheVolumes;
  cache: BuildCache;
  network: SessionNetwork;
  /** The session's services (a getter: the manager builds its containers with this step's evaluator). */
  services: () => ServiceManager;
  onProgress?: ((event: ProgressEvent) => void) | undefined;
  /** Tracks the step's teardown, which goes on after its result is returned. */
  later(work: Promise<void>): void;
}

/** One exec to run: the step, its chain key, the snapshot it runs on, and its build lease's settings. */
export interface ExecRun {
  step: Extract<PlannedStep, { kind: "exec" }>;
  key: string;
  parent: string;
  image: PulledImage;
  leaseLabels: Record<string, string>;
  leaseExpireMs: number;
}

/** Whether an exit code is what the step expects (`withExec`'s `expect`). */
export function accepts(expect: "SUCCESS" | "FAILURE" | "ANY", exitCode: number): boolean {
  return expect === "ANY" || (expect === "SUCCESS" ? exitCode === 0 : exitCode !== 0);
}

export async function runExecStep(deps: ExecStepDeps, run: ExecRun, signal?: AbortSignal): Promise<CachedStep> {
  const { client, cache, paths, runner, owner } = deps;
  const { step, key, parent, image } = run;
  deps.onProgress?.({ type: "exec", command: step.args, cached: false });
  const { mounts, volumes } = await deps.volumes.mountPlanned(step.mounts, signal);
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
    const services = deps.services();
    const binding = step.bindings.length > 0 ? bindInBackground((b, s) => services.bind(b, s), step.bindings, signal) : undefined;
    if (binding) undo.push(() => binding.release());
    const id = `svcd-${hostHash(owner.sessionId)}-exec-${randomBytes(6).toString("hex")}`;
    // Every exec joins the hub: it reaches the session's services by name and the outside through egress
    // (apt-get, pip). The attach runs while the snapshot and record are made: the task is created once its netns
    // and files exist, and its process starts once it is on the bridge.
    const network = deps.network;
    const pending = await network.attachInBackground(id, { hostname: hostHash(key), signal });
    undo.push(async () => {
      const attached = await pending.attached.catch(() => undefined);
      if (attached) network.detachLater(attached);
    });
    let ready!: (made: CachedStep) => void;
    const result = new Promise<CachedStep>((resolve) => (ready = resolve));
    // The lease protects the outputs between their write and the commit that references them: it is made while
    // the container runs, not on the way to it.
    const lease = client.beginLease({ expireMs: run.leaseExpireMs, labels: run.leaseLabels });
    undo.push(() => lease.release());
    const running = (async () => {
      const task = await startContainer(client, {
        id,
        image: { name: image.name, chainId: parent, snapshotter: cache.snapshotter, config: image.config },
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
    const made = await Promise.race([result, running.then(() => result)]);
    deps.later(
      running
        .catch((err: unknown) => log("%s: teardown: %s", id, err))
        .then(cleanUp)
        .catch((err: unknown) => log("%s: cleanup: %s", id, err)),
    );
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
