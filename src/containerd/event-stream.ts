// Events.Subscribe as an async iterable of decoded events. Aborting the signal ends the iteration quietly.
import type { MethodDefinition } from "@grpc/proto-loader";
import { InvalidArgumentError } from "../common/errors.js";
import { decodeAny, timestampToDate } from "./any-value.js";
import type { CallScope, Connection } from "./connection.js";
import type { Envelope__Output } from "./gen/containerd/services/events/v1/Envelope.js";

/** One containerd event with its payload decoded (e.g. containerd.events.TaskExit: container_id, exit_status…). */
export interface ContainerdEvent {
  timestamp: Date;
  namespace: string;
  /** "/tasks/exit", "/namespaces/create", … */
  topic: string;
  /** The payload's message name ("containerd.events.TaskExit"); empty when the envelope carried none. */
  type: string;
  /** The payload as a plain object (snake_case keys); `{}` for a type svcd does not declare. */
  event: Record<string, unknown>;
}

/** Subscribes with containerd filters (OR-ed), e.g. `topic=="/tasks/exit",namespace=="svcd"`. */
export async function* subscribe(conn: Connection, scope: CallScope, filters: string[], opts: { signal?: AbortSignal } = {}): AsyncGenerator<ContainerdEvent> {
  if (!Array.isArray(filters) || filters.some((f) => typeof f !== "string")) throw new InvalidArgumentError("subscribe: filters must be an array of strings");
  const method = conn.registry.service("containerd.services.events.v1.Events").Subscribe as MethodDefinition<object, object>;
  const root = conn.registry.types();
  const { signal } = opts;
  if (signal?.aborted) return;
  try {
    for await (const env of conn.serverStream<Envelope__Output>(method, "Events.Subscribe", { filters }, scope, { signal })) {
      const typeUrl = env.event?.type_url ?? "";
      yield {
        timestamp: timestampToDate(env.timestamp) ?? new Date(0),
        namespace: env.namespace,
        topic: env.topic,
        type: typeUrl.slice(typeUrl.lastIndexOf("/") + 1),
        event: decodeAny(root, env.event),
      };
    }
  } catch (err) {
    if (signal?.aborted) return;
    throw err;
  }
}
