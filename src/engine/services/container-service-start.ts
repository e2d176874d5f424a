// Starting one container service: builds its container, brings up its own bindings, cache volumes, network and
// task, publishes its names and waits until it is ready (readiness.ts: its TCP ports, healthcheck and log wait). Any
// failure (an abort included: stop() or the session's end during the start) undoes all of it before it rejects.
import { randomBytes } from "node:crypto";
import { debug } from "../../common/debug.js";
import { InvalidArgumentError } from "../../common/errors.js";
import { OWNER, SERVICE } from "../../common/labels.js";
import { assertDnsLabel, hostHash, type ContainerServiceDef } from "../../definition/index.js";
import { startContainer } from "../../runtime/index.js";
import type { PlannedBinding } from "../plan.js";
import { LogWatch } from "./log-watch.js";
import { waitUntilReady } from "./readiness.js";
import { RunningService } from "./running-service.js";
import { bindInBackground, type BoundServices } from "./service-bindings.js";
import type { ServiceLogs } from "./service-logs.js";
import type { ServiceManagerDeps } from "./service-manager.js";
import { readyToStart } from "./session-network.js";

const log = debug("service");

/** A service without bindings: nothing to alias, nothing that can fail it. */
const NO_BINDINGS: BoundServices = { aliases: [], signal: new AbortController().signal, release: () => {} };

/** The readiness checks' default overall limit. */
export const DEFAULT_HEALTHCHECK_TIMEOUT_MS = 60_000;

/** What a start needs beyond the manager's deps: its bindings, the session's full names, teardown tracking. */
export interface ServiceStartContext {
  deps: ServiceManagerDeps;
  bind(bindings: PlannedBinding[], signal: AbortSignal): Promise<BoundServices>;
  fullName(hostname: string): string;
  track(id: string, finished: Promise<void>): void;
  /** The run's log, recorded as the service's newest run (for `logs()`). */
  openLogs(key: string, hostname: string, id: string): ServiceLogs;
}

/** Starts the service for `key`, healthy; `signal` cancels the start (whatever was made is removed first). */
export async function startContainerService(ctx: ServiceStartContext, def: ContainerServiceDef, key: string, signal: AbortSignal): Promise<RunningService> {
  const { client, paths, runner, owner, network, sessionId } = ctx.deps;
  const hostname = def.hostname ?? hostHash(key);
  assertDnsLabel(hostname, "service hostname");
  const { resolved } = await ctx.deps.builder.build(def.container, signal);
  const { plan, image } = resolved;
  const args = serviceArgs(def, plan.config);
  const id = `svcd-${hostHash(sessionId)}-svc-${hostname.slice(0, 24)}-${randomBytes(4).toString("hex")}`;
  const undo: (() => Promise<void> | void)[] = [];
  const cleanup = async () => {
    for (const fn of undo.reverse()) await Promise.resolve().then(fn).catch((err) => log("%s: cleanup: %s", id, err));
  };
  try {
    // A service's own bindings start with it (to healthy, while its network and task are made: its process starts
    // once they are up) and stay up while it runs.
    const binding = plan.bindings.length > 0 ? bindInBackground(ctx.bind, plan.bindings, signal) : undefined;
    if (binding) undo.push(() => binding.release());
    let bound: BoundServices = NO_BINDINGS;
    // Cache volumes (a LOCKED one included) are held for the service's whole life.
    const { mounts, volumes } = await ctx.deps.volumes.mountPlanned(plan.mounts, signal);
    for (const v of volumes) undo.push(() => v.release());
    // The attach runs while the snapshot and record are made: the task is created once its netns and files exist,
    // and its process starts once it is on the bridge.
    const pending = await network.attachInBackground(id, { hostname, signal });
    undo.push(async () => (await pending.attached.catch(() => undefined))?.detach());
    const logs = ctx.openLogs(key, hostname, id);
    undo.push(() => logs.close());
    // Watching before the process starts: a line it prints at once still counts.
    const logWatch = def.waitForLog ? new LogWatch(logs, def.waitForLog) : undefined;
    undo.push(() => logWatch?.close());
    const task = await startContainer(client, {
      id,
      image: { name: image.name, chainId: resolved.top, snapshotter: image.snapshotter, config: image.config },
      args,
      env: plan.config.env,
      cwd: plan.config.workdir,
      user: plan.config.user || "0:0",
      mounts,
      networkNamespace: pending.netnsPath,
      hostsFile: pending.hostsPath,
      resolvConf: pending.resolvConfPath,
      hostname,
      ...(def.insecureRootCapabilities === true ? { insecureRootCapabilities: true } : {}),
      labels: {
        [OWNER.kind]: "service",
        [SERVICE.hostname]: hostname,
        [SERVICE.ports]: plan.exposedPorts.map((p) => `${p.port}/${p.protocol.toLowerCase()}`).join(","),
      },
      owner,
      paths,
      runner,
      maxOutputBytes: 64 * 1024,
      onStdout: (chunk) => logs.write(chunk),
      onStderr: (chunk) => logs.write(chunk),
      beforeCreate: () => pending.created,
      beforeStart: async () => {
        bound = (await readyToStart(pending, binding)) ?? NO_BINDINGS;
      },
      signal,
    });
    undo.push(() => task.delete());
    const net = await pending.attached; // settled before the process started (beforeStart)
    const names = [hostname, ctx.fullName(hostname)];
    const service = new RunningService({
      key,
      hostname,
      task,
      network: net,
      logs,
      volumes,
      releaseBindings: () => void binding?.release(),
      unpublish: () => network.unpublish(id),
      onTeardown: (finished) => ctx.track(id, finished),
    });
    undo.length = 0; // from here on, service.stop() owns the teardown
    try {
      // Its names go into the session's hosts files while its readiness is checked; it is ready once both are done.
      const published = network.publish(id, net.ip, names);
      ctx.deps.onProgress?.({ type: "service", hostname, state: "starting" });
      await Promise.all([
        published,
        waitUntilReady(
          { service, task, agent: ctx.deps.agent },
          { ports: plan.exposedPorts, healthcheck: plan.healthcheck, logWatch },
          def.healthcheckTimeoutMs ?? DEFAULT_HEALTHCHECK_TIMEOUT_MS,
          AbortSignal.any([bound.signal, signal]),
        ),
      ]);
    } catch (err) {
      logWatch?.close();
      await service.stop({ kill: true }).catch((e) => log("%s: cleanup after failed start: %s", id, e));
      await service.finished.catch(() => {});
      if (bound.signal.aborted && !signal.aborted) throw bound.signal.reason;
      throw err;
    }
    log("%s: %s ready at %s", id, hostname, net.ip);
    ctx.deps.onProgress?.({ type: "service", hostname, state: "ready" });
    return service;
  } catch (err) {
    await cleanup();
    throw err;
  }
}

function serviceArgs(def: ContainerServiceDef, config: { entrypoint: string[]; defaultArgs: string[] }): string[] {
  const args = def.args ?? config.defaultArgs;
  const full = def.useEntrypoint || def.args === undefined ? [...config.entrypoint, ...args] : [...args];
  if (full.length === 0) throw new InvalidArgumentError("the service has no command: pass asService({ args }) or set an entrypoint or default args");
  return full;
}
