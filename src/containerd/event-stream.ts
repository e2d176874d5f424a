// Events.Subscribe as an async iterable of decoded events. Aborting the signal ends the iteration quietly. When
// containerd goes away (UNAVAILABLE) the subscription is made again once it answers, within a budget per outage;
// what containerd published meanwhile is not replayed (it keeps no event history).
import type { MethodDefinition } from "@grpc/proto-loader";
import { InvalidArgumentError } from "../common/errors.js";
import { isUnavailable, retryWhileUnavailable, type RetryClock } from "./unavailable-retry.js";
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

export interface SubscribeOptions {
  signal?: AbortSignal;
  /** How long one outage of containerd may last before the iteration fails with its UNAVAILABLE (default 5 min). */
  outageBudgetMs?: number;
  clock?: RetryClock;
}

/** Subscribes with containerd filters (OR-ed), e.g. `topic=="/tasks/exit",namespace=="svcd"`. */
export async function* subscribe(conn: Connection, scope: CallScope, filters: string[], opts: SubscribeOptions = {}): AsyncGenerator<ContainerdEvent> {
  if (!Array.isArray(filters) || filters.some((f) => typeof f !== "string")) throw new InvalidArgumentError("subscribe: filters must be an array of strings");
  const method = conn.registry.service("containerd.services.events.v1.Events").Subscribe as MethodDefinition<object, object>;
  const root = conn.registry.types();
  const { signal } = opts;
  if (signal?.aborted) return;
  // The stream is opened (and re-opened) inside the retry; the first message proves it reached containerd.
  const open = async () => {
    const stream = conn.serverStream<Envelope__Output>(method, "Events.Subscribe", { filters }, scope, { signal })[Symbol.asyncIterator]();
    return { stream, first: await stream.next() };
  };
  const retry = {
    what: "Events.Subscribe",
    budgetMs: opts.outageBudgetMs ?? 5 * 60_000,
    initialDelayMs: 50,
    maxDelayMs: 1000,
    resetAfterMs: 2000,
    ...(signal ? { signal } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
  };
  try {
    for (;;) {
      let { stream, first } = await retryWhileUnavailable(open, retry);
      try {
        for (; !first.done; first = await stream.next()) yield toEvent(root, first.value);
        return;
      } catch (err) {
        // Dropped after it was established: subscribe again (with a fresh budget), unless it was something else.
        if (signal?.aborted || !isUnavailable(err)) throw err;
      } finally {
        await stream.return?.(undefined);
      }
    }
  } catch (err) {
    if (signal?.aborted) return;
    throw err;
  }
}

function toEvent(root: ReturnType<Connection["registry"]["types"]>, env: Envelope__Output): ContainerdEvent {
  const typeUrl = env.event?.type_url ?? "";
  return {
    timestamp: timestampToDate(env.timestamp) ?? new Date(0),
    namespace: env.namespace,
    topic: env.topic,
    type: typeUrl.slice(typeUrl.lastIndexOf("/") + 1),
    event: decodeAny(root, env.event),
  };
}
