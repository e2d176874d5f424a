// The `up` forwards open on a service container, mirrored into its `svcd.io/service.up` label, so `svc ps` from
// any process can show them without asking the engine that runs them. Best effort: a label that cannot be written
// is logged, never fails the forward. Writes to one container are serialised and always carry the current set.
import { debug } from "../../common/debug.js";
import { SERVICE } from "../../common/labels.js";
import type { ContainerdClient } from "../../containerd/index.js";
import type { UpPort } from "../../definition/index.js";

const log = debug("service");

/** `127.0.0.1:9000->8080/tcp`: one forward as the label spells it. */
export function upLabelEntry(bind: string, p: UpPort): string {
  const host = bind.includes(":") ? `[${bind}]` : bind;
  return `${host}:${p.frontend}->${p.backend}/${p.protocol.toLowerCase()}`;
}

export class UpLabels {
  readonly #client: ContainerdClient;
  readonly #open = new Map<string, string[][]>();
  readonly #writes = new Map<string, Promise<void>>();

  constructor(client: ContainerdClient) {
    this.#client = client;
  }

  /** Records `entries` on the container until the returned function is called (idempotent). */
  add(containerId: string, entries: string[]): () => Promise<void> {
    const list = this.#open.get(containerId) ?? [];
    list.push(entries);
    this.#open.set(containerId, list);
    this.#write(containerId);
    let removed = false;
    return () => {
      if (!removed) {
        removed = true;
        const now = (this.#open.get(containerId) ?? []).filter((e) => e !== entries);
        if (now.length > 0) this.#open.set(containerId, now);
        else this.#open.delete(containerId);
        this.#write(containerId);
      }
      return this.#writes.get(containerId) ?? Promise.resolve();
    };
  }

  /** Resolves when every label write started so far is done. */
  async settled(): Promise<void> {
    await Promise.all([...this.#writes.values()]);
  }

  #write(id: string): void {
    const previous = this.#writes.get(id) ?? Promise.resolve();
    const next = previous.then(async () => {
      const value = (this.#open.get(id) ?? []).flat().join(",");
      await this.#client.containers
        .update({ container: { id, labels: { [SERVICE.up]: value } }, update_mask: { paths: [`labels.${SERVICE.up}`] } })
        .catch((err: unknown) => log("%s: up label: %s", id, err));
    });
    this.#writes.set(id, next);
    void next.finally(() => {
      if (this.#writes.get(id) === next) this.#writes.delete(id);
    });
  }
}
