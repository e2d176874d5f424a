// A host service (`client.host().service(...)`): a listener inside the hub on a reserved address, whose connections
// are carried by the forward agent to `host:port` on the caller's host. It has a hostname and bindings like a
// container service, but no container: it "exits" only when its tunnels end (stop(), or the agent died).
import { debug } from "../../common/debug.js";
import type { HostServiceDef } from "../../definition/index.js";
import type { ForwardAgent, ForwardHandle } from "../../forward/index.js";
import type { ReservedAddress } from "../../network/index.js";
import type { ServiceLogs } from "./service-logs.js";

const log = debug("service");

export interface HostServiceParts {
  key: string;
  hostname: string;
  id: string;
  def: HostServiceDef;
  address: ReservedAddress;
  agent: ForwardAgent;
  logs: ServiceLogs;
  unpublish: () => Promise<void>;
  onTeardown?: (finished: Promise<void>) => void;
}

export class RunningHostService {
  readonly key: string;
  readonly hostname: string;
  readonly ip: string;
  readonly containerId: string;
  readonly logs: ServiceLogs;
  /** Resolves when the tunnels end; exit code -1 (there is no process). */
  readonly exited: Promise<{ exitCode: number }>;
  readonly #parts: HostServiceParts;
  readonly #handles: ForwardHandle[];
  #stopping: Promise<void> | undefined;
  #finished: Promise<void> | undefined;

  private constructor(parts: HostServiceParts, handles: ForwardHandle[]) {
    this.#parts = parts;
    this.#handles = handles;
    this.key = parts.key;
    this.hostname = parts.hostname;
    this.ip = parts.address.ip;
    this.containerId = parts.id;
    this.logs = parts.logs;
    this.exited = Promise.race(handles.map((h) => h.closed)).then(() => ({ exitCode: -1 }));
  }

  /** Opens a listener per port in the hub; any failure closes what was opened and releases the address. */
  static async start(parts: HostServiceParts): Promise<RunningHostService> {
    const { def, agent, address, logs } = parts;
    const handles: ForwardHandle[] = [];
    try {
      for (const p of def.ports) {
        handles.push(
          await agent.hostService(
            { address: address.ip, port: p.frontend, protocol: p.protocol },
            { host: def.host, port: p.backend },
            {
              onError: (err) => {
                logs.write(Buffer.from(`${def.host}:${p.backend}/${p.protocol.toLowerCase()}: ${err.message}\n`));
                log("%s: %s", parts.id, err.message);
              },
            },
          ),
        );
      }
    } catch (err) {
      await Promise.all(handles.map((h) => h.close().catch(() => {})));
      await address.release();
      await logs.close();
      throw err;
    }
    return new RunningHostService(parts, handles);
  }

  get exitCode(): number | undefined {
    return undefined;
  }

  stop(_opts: { kill: boolean } = { kill: false }): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = (async () => {
        await this.#parts.unpublish().catch((err) => log("%s: unpublish: %s", this.containerId, err));
        await Promise.all(this.#handles.map((h) => h.close().catch((err) => log("%s: close: %s", this.containerId, err))));
      })();
      this.#finished = this.#stopping.then(async () => {
        await this.#parts.address.release();
        await this.logs.close();
      });
      this.#parts.onTeardown?.(this.#finished);
    }
    return this.#stopping;
  }

  get finished(): Promise<void> {
    return this.#finished ?? Promise.resolve();
  }
}
