// `UpHandle`: a service exposed on host ports. Only a started `up` has one, so `ports` always holds what was bound.
import type { PortProtocol, UpSession } from "../definition/index.js";

export interface UpPortMapping {
  /** The host port (what `random: true` picked). */
  frontend: number;
  /** The service's port. */
  backend: number;
  protocol: PortProtocol;
}

export class UpHandle {
  /** What was actually bound, in the order asked for. */
  readonly ports: UpPortMapping[];
  readonly #session: UpSession;

  /** @internal Created by `service.up()`. */
  constructor(session: UpSession, signal?: AbortSignal) {
    this.#session = session;
    this.ports = session.ports.map((p) => ({ ...p }));
    signal?.addEventListener("abort", () => void this.close(), { once: true });
  }

  /** Stops forwarding (the host ports are free when this resolves) and releases the service. Idempotent. */
  close(): Promise<void> {
    return this.#session.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
