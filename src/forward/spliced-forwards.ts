// TCP forwards whose bytes the splice helper carries (issue 13; splice-forward.ts): the ForwardAgent's fast path when
// the helper is built. The agent still makes what must be made inside the hub (a host service's listener) and
// carries the few connections a listener's other copy accepted before the helper took over, so none is lost.
// - `up`: the engine's host listener → helper in the hub netns → the service. Connections the engine's copy accepted
//   before it was closed go to the agent (`adopt` with the target), as on the Node path.
// - Host services: the agent listens in the hub and hands the listener back (`host-listen` with handOff) → helper in
//   the engine's netns → the host target. What the agent's or the engine's copy accepted meanwhile goes through the
//   HostServiceRelay (Node), which also words the errors of failed dials for the service's log.
import type { Server, Socket } from "node:net";
import { debug } from "../common/debug.js";
import { InternalError } from "../common/errors.js";
import type { ProcessRunner } from "../common/process-runner.js";
import type { AgentProcess } from "./agent-process.js";
import type { BridgeAddresses } from "./bridge-addresses.js";
import type { ForwardHandle, HostServiceListen } from "./forward-types.js";
import { HostServiceRelay, type HostDialTarget, type HostServiceOptions } from "./host-service.js";
import { SpliceForward } from "./splice-forward.js";

const log = debug("forward");

export interface SplicedForwardsOptions {
  /** The helper binary. */
  helper: string;
  hubNetns: string;
  /** Runs `up` helpers (nsenter --net into the hub). */
  runner: ProcessRunner;
  /** Runs host-service helpers in the engine's own netns and identity. */
  hostRunner: ProcessRunner;
  env?: NodeJS.ProcessEnv;
  addresses: BridgeAddresses;
}

interface Entry {
  /** The agent that set it up: its death ends the forward, as on the Node path (forward-agent.ts's header). */
  agent: AgentProcess;
  /** Absent while a host service's helper starts. */
  forward?: SpliceForward;
  relay?: HostServiceRelay;
  address?: string;
}

export class SplicedForwards {
  private readonly entries = new Map<string, Entry>();
  private closing = false;

  constructor(private readonly opts: SplicedForwardsOptions) {}

  /** The relay of a spliced host service, for connections its listener's other copies accepted. */
  relay(forwardId: string): HostServiceRelay | undefined {
    return this.entries.get(forwardId)?.relay;
  }

  /** `up`: `server` (listening in the engine's netns) served by a helper in the hub; the server is closed here. */
  async listener(forwardId: string, agent: AgentProcess, server: Server, target: { ip: string; port: number }): Promise<ForwardHandle> {
    const tunable = server as Server & { pauseOnConnect: boolean };
    tunable.pauseOnConnect = true;
    const stray = (socket: Socket) => agent.adopt(forwardId, socket, target);
    server.on("connection", stray);
    const forward = await SpliceForward.start({
      helper: this.opts.helper,
      runner: this.opts.runner,
      netns: this.opts.hubNetns,
      hub: this.opts.hubNetns,
      listener: server,
      target: { host: target.ip, port: target.port },
      env: this.opts.env,
    });
    server.close();
    return this.track(forwardId, { agent, forward });
  }

  /** A host service's TCP listener in the hub, served by a helper in the engine's netns dialling `dial`. */
  async hostService(
    forwardId: string,
    agent: AgentProcess,
    listen: HostServiceListen,
    dial: HostDialTarget,
    opts: HostServiceOptions,
  ): Promise<ForwardHandle> {
    const relay = new HostServiceRelay(forwardId, dial, "TCP", undefined, opts);
    // Registered first: the agent's copy may pass on connections before its answer arrives.
    this.entries.set(forwardId, { agent, relay });
    await this.opts.addresses.acquire(listen.address);
    let server: Server | undefined;
    try {
      const answer = await agent.request({ op: "host-listen", forwardId, address: listen.address, port: listen.port, protocol: "TCP", handOff: true });
      server = answer.handle;
      if (!server) throw new InternalError(`forward agent answered host-listen ${forwardId} without its listener`);
      (server as Server & { pauseOnConnect: boolean }).pauseOnConnect = true;
      server.on("connection", (socket: Socket) => relay.accepted(socket));
      const forward = await SpliceForward.start({
        helper: this.opts.helper,
        runner: this.opts.hostRunner,
        hub: this.opts.hubNetns,
        listener: server,
        target: dial,
        dialTimeoutMs: opts.dialTimeoutMs,
        onDialFailed: (code) => relay.dialFailed(code),
        env: this.opts.env,
      });
      server.close();
      return this.track(forwardId, { agent, forward, relay, address: listen.address });
    } catch (err) {
      server?.close();
      this.entries.delete(forwardId);
      relay.close();
      await this.opts.addresses.release(listen.address).catch((e) => log("release %s: %s", listen.address, String(e)));
      throw err;
    }
  }

  /** The forwards `agent` set up end with it: their helpers are stopped (ports freed, addresses released). */
  dropAgent(agent: AgentProcess): void {
    for (const entry of this.entries.values()) if (entry.agent === agent) void entry.forward?.close();
  }

  /** Stops every helper (their connections are reset) and drops their relays; addresses are the caller's. */
  async closeAll(): Promise<void> {
    this.closing = true;
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.forward?.close()));
    for (const e of all) e.relay?.close();
  }

  private track(forwardId: string, entry: Entry & { forward: SpliceForward }): ForwardHandle {
    this.entries.set(forwardId, entry);
    const { forward } = entry;
    // Once the helper has exited (closed, or died) its port is free; then the relay and the address go.
    const ended = forward.closed.then(async () => {
      if (this.entries.get(forwardId) === entry) this.entries.delete(forwardId);
      entry.relay?.close();
      if (entry.address !== undefined && !this.closing) await this.opts.addresses.release(entry.address);
    }).catch((err) => log("forward %s: %s", forwardId, String(err)));
    log("forward %s spliced by helper %d", forwardId, forward.pid);
    if (!entry.agent.alive) void forward.close(); // it died while the helper started
    let closing: Promise<void> | undefined;
    return { closed: ended, close: () => (closing ??= forward.close().then(() => ended)) };
  }
}
