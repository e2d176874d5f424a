// Machine-wide pieces a session uses, joined on first need and left at the session's end: the hub network (shared
// with every engine process, reference-counted) and this engine's forward agent inside it.
import type { Paths } from "../common/paths.js";
import type { ProcessRunner } from "../common/process-runner.js";
import { ForwardAgent } from "../forward/index.js";
import { HubNetwork } from "../network/index.js";

export class SessionResources {
  readonly #paths: Paths;
  readonly #runner: ProcessRunner;
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
        if (egress.state === "off") process.emitWarning(egress.error.message, { code: "SVCD_EGRESS_OFF" });
        return attached;
      });
      this.#hub = hub;
      hub.catch(() => {
        if (this.#hub === hub) this.#hub = undefined; // the next caller tries again
      });
    }
    return this.#hub;
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
    if (agent) await agent.then((a) => a.close(), () => undefined);
    if (hub) await hub.then((h) => h.release(), () => undefined);
  }
}
