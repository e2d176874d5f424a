// Machine-wide pieces a session uses, joined on first need and left at the session's end: the hub network (shared
// with every engine process, reference-counted) and this engine's forward agent inside it. What the engine has to
// warn about on joining (egress off) is emitted as a process warning and kept, with listeners, so a daemon can
// pass it on to each of its clients.
import type { Paths } from "../common/paths.js";
import type { ProcessRunner } from "../common/process-runner.js";
import { ForwardAgent } from "../forward/index.js";
import { HubNetwork } from "../network/index.js";

/** A warning the engine gives its users once per hub join, by code (SVCD_EGRESS_OFF). */
export interface EngineWarning {
  code: string;
  message: string;
}

export class SessionResources {
  readonly #paths: Paths;
  readonly #runner: ProcessRunner;
  readonly #warnings = new Map<string, EngineWarning>();
  readonly #listeners = new Set<(warning: EngineWarning) => void>();
  #hub: Promise<HubNetwork> | undefined;
  #agent: Promise<ForwardAgent> | undefined;

  constructor(paths: Paths, runner: ProcessRunner) {
    this.#paths = paths;
    this.#runner = runner;
  }

  hub(): Promise<HubNetwork> {
    if (!this.#hub) {
      const hub = HubNetwork.attach({ paths: this.#paths, runner: this.#runner }).then((attached) => {
        // Containers still run without egress; say once, clearly, why they cannot reach the outside.
        const egress = attached.egress;
        if (egress.state === "off") this.#warn({ code: "SVCD_EGRESS_OFF", message: egress.error.message });
        return attached;
      });
      this.#hub = hub;
      hub.catch(() => {
        if (this.#hub === hub) this.#hub = undefined; // the next caller tries again
      });
    }
    return this.#hub;
  }

  /** The warnings given since the hub was joined. */
  get warnings(): EngineWarning[] {
    return [...this.#warnings.values()];
  }

  /** Calls `listener` with each warning given from now on; returns the unsubscribe. */
  onWarning(listener: (warning: EngineWarning) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #warn(warning: EngineWarning): void {
    this.#warnings.set(warning.code, warning);
    process.emitWarning(warning.message, { code: warning.code });
    for (const listener of this.#listeners) {
      try {
        listener(warning);
      } catch {
        // a listener's failure is not the engine's
      }
    }
  }

  agent(): Promise<ForwardAgent> {
    if (!this.#agent) {
      const agent = this.hub().then((hub) => ForwardAgent.start({ hubNetns: hub.netnsPath, runner: this.#runner }));
      this.#agent = agent;
      agent.catch(() => {
        if (this.#agent === agent) this.#agent = undefined;
      });
    }
    return this.#agent;
  }

  /** Stops the agent and drops this engine's reference on the hub. */
  async close(): Promise<void> {
    const agent = this.#agent;
    const hub = this.#hub;
    this.#agent = undefined;
    this.#hub = undefined;
    this.#warnings.clear(); // joining again looks again
    if (agent) await agent.then((a) => a.close(), () => undefined);
    if (hub) await hub.then((h) => h.release(), () => undefined);
  }
}
