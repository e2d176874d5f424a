// A service container from start to stop: its task, network, volumes, logs and the services it binds itself.
// `stop()` is the one teardown path (asked for, grace period over, session closed, or the process exited) and is
// idempotent: names unpublished, SIGTERM (SIGKILL after 10 s, or at once with `kill`; a later `kill` escalates a
// stop under way), and it resolves only once the process has exited; then the task, container, snapshot, netns, IP
// lease, hosts files and volume locks are released in the background.
import { debug } from "../../common/debug.js";
import type { RunningTask } from "../../runtime/index.js";
import type { MountedVolume } from "../cache-volumes.js";
import type { RegisteredService } from "./service-registry.js";
import type { AttachedContainer } from "./session-network.js";
import type { ServiceLogs } from "./service-logs.js";

const log = debug("service");

/** How long a service may take to exit after SIGTERM before it gets SIGKILL. */
export const TERMINATE_GRACE_MS = 10_000;

/** What a service needs of its task (a RunningTask; narrow so the stop sequence can be tested alone). */
export type ServiceTask = Pick<RunningTask, "id" | "wait" | "kill" | "delete">;

export interface RunningServiceParts {
  key: string;
  hostname: string;
  task: ServiceTask;
  network: Pick<AttachedContainer, "ip" | "detach">;
  logs: ServiceLogs;
  /** SIGTERM → SIGKILL delay; default TERMINATE_GRACE_MS (tests shorten it). */
  terminateGraceMs?: number;
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
    if (this.#stopping) {
      // stop({ kill: true }) during a SIGTERM stop: no waiting out the rest of the 10 s.
      if (opts.kill && this.#exitCode === undefined) void this.#kill("SIGKILL");
    } else {
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
    const { unpublish } = this.#parts;
    await unpublish().catch((err) => log("%s: unpublish: %s", this.containerId, err));
    if (this.#exitCode !== undefined) return;
    await this.#kill(kill ? "SIGKILL" : "SIGTERM");
    if (!kill) {
      const graceMs = this.#parts.terminateGraceMs ?? TERMINATE_GRACE_MS;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        this.exited.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        log("%s: no exit %d ms after SIGTERM: SIGKILL", this.containerId, graceMs);
        await this.#kill("SIGKILL");
      }
    }
    await this.exited; // the contract: stop() resolves once the process has exited
  }

  #kill(signal: "SIGTERM" | "SIGKILL"): Promise<void> {
    return this.#parts.task.kill(signal, { all: true }).catch((err) => log("%s: kill %s: %s", this.containerId, signal, err));
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
