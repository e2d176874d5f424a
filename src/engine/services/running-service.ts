// A service container from start to stop: its task, network, volumes, logs and the services it binds itself.
// `stop()` is the one teardown path (asked for, grace period over, session closed, or the process exited) and is
// idempotent: names unpublished, SIGTERM (SIGKILL after 10 s, or at once with `kill`); once the process has exited,
// the task, container, snapshot, netns, IP lease, hosts files and volume locks are released in the background.
import { debug } from "../../common/debug.js";
import type { RunningTask } from "../../runtime/index.js";
import type { MountedVolume } from "../cache-volumes.js";
import type { RegisteredService } from "./service-registry.js";
import type { AttachedContainer } from "./session-network.js";
import type { ServiceLogs } from "./service-logs.js";

const log = debug("service");

/** How long a service may take to exit after SIGTERM before it gets SIGKILL. */
export const TERMINATE_GRACE_MS = 10_000;

export interface RunningServiceParts {
  key: string;
  hostname: string;
  task: RunningTask;
  network: AttachedContainer;
  logs: ServiceLogs;
  volumes: MountedVolume[];
  /** Releases the services this one binds. */
  releaseBindings: () => void;
  unpublish: () => Promise<void>;
  /** Told of the background teardown when it starts, so the session can wait for it before it ends. */
  onTeardown?: (finished: Promise<void>) => void;
}

export class RunningService implements RegisteredService {
  readonly key: string;
  readonly hostname: string;
  readonly ip: string;
  readonly containerId: string;
  readonly logs: ServiceLogs;
  /** Resolves with the exit status when the process exits, whatever the reason. */
  readonly exited: Promise<{ exitCode: number }>;
  #stopping: Promise<void> | undefined;
  #finished: Promise<void> | undefined;
  #exitCode: number | undefined;
  readonly #parts: RunningServiceParts;

  constructor(parts: RunningServiceParts) {
    this.#parts = parts;
    this.key = parts.key;
    this.hostname = parts.hostname;
    this.ip = parts.network.ip;
    this.containerId = parts.task.id;
    this.logs = parts.logs;
    this.exited = parts.task.wait().then(
      (exit) => {
        this.#exitCode = exit.exitCode;
        return exit;
      },
      () => ({ exitCode: -1 }),
    );
  }

  /** The exit code once exited, else undefined. */
  get exitCode(): number | undefined {
    return this.#exitCode;
  }

  /**
   * Stops the service and resolves once its process has exited and its names are gone; the rest of the teardown
   * (task, container, snapshot, network, volumes) goes on in the background: await `finished` for it.
   */
  stop(opts: { kill: boolean } = { kill: false }): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = this.#terminate(opts.kill);
      this.#finished = this.#stopping.then(() => this.#cleanup());
      this.#parts.onTeardown?.(this.#finished);
    }
    return this.#stopping;
  }

  /** Resolves when the whole teardown is done (after stop()); rejects with the first cleanup error. */
  get finished(): Promise<void> {
    return this.#finished ?? Promise.resolve();
  }

  async #terminate(kill: boolean): Promise<void> {
    const { task, unpublish } = this.#parts;
    await unpublish().catch((err) => log("%s: unpublish: %s", this.containerId, err));
    if (this.#exitCode !== undefined) return;
    await task.kill(kill ? "SIGKILL" : "SIGTERM", { all: true }).catch((err) => log("%s: kill: %s", this.containerId, err));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), TERMINATE_GRACE_MS))),
    ]);
    clearTimeout(timer);
    if (timedOut) log("%s: no exit %d ms after SIGTERM: SIGKILL", this.containerId, TERMINATE_GRACE_MS);
    // task.delete() below kills what is left (SIGKILL) and waits for it.
  }

  async #cleanup(): Promise<void> {
    const { task, network, logs, volumes, releaseBindings } = this.#parts;
    const errors: unknown[] = [];
    await task.delete().catch((err) => errors.push(err));
    for (const v of volumes) await v.release().catch((err) => errors.push(err));
    await network.detach().catch((err) => errors.push(err));
    releaseBindings();
    await logs.close();
    log("%s: stopped", this.containerId);
    if (errors.length > 0) throw errors[0];
  }
}
