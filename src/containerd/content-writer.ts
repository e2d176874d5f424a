// Content.Write: STAT (learn the resume offset), WRITE chunks of at most 1 MiB, COMMIT with the expected digest, size
// and labels. containerd answers every request of the stream in order, so up to WRITE_WINDOW chunks are in flight
// at once (containerd's own client waits for each answer: a round trip per MiB, issue 13); every answer's offset is
// still checked, and COMMIT goes only after the last WRITE was answered. A digest that already exists is success.
// On any failure or abort the ingest ref is aborted, so nothing is left.
import { setTimeout as delay } from "node:timers/promises";
import * as grpc from "@grpc/grpc-js";
import type { MethodDefinition } from "@grpc/proto-loader";
import { CancelledError, InternalError, InvalidArgumentError, TimeoutError } from "../common/errors.js";
import type { CallScope, Connection } from "./connection.js";
import { hasGrpcCode } from "./grpc-error.js";
import type { WriteContentRequest } from "./gen/containerd/services/content/v1/WriteContentRequest.js";
import type { WriteContentResponse__Output } from "./gen/containerd/services/content/v1/WriteContentResponse.js";

/** The most data one WRITE request carries. */
export const WRITE_CHUNK_BYTES = 1024 * 1024;

/** WRITE requests sent before the first of them must have been answered. */
const WRITE_WINDOW = 8;

/** How long to wait for another writer holding the same ref (containerd answers UNAVAILABLE while it is locked). */
const LOCKED_REF_WAIT_MS = 60_000;

const DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** What to write. */
export interface WriteContentRequestOptions {
  /** Ingest name; writers of the same ref are serialised by containerd (e.g. "layer-<digest>"). */
  ref: string;
  /** The digest the data must have ("sha256:<hex>"). */
  expected: string;
  /** The exact size in bytes (0 when unknown). */
  total: number;
  /** Labels of the committed blob; merged into an existing blob's labels. */
  labels?: Record<string, string>;
  source: AsyncIterable<Buffer | Uint8Array> | Buffer | Uint8Array;
  signal?: AbortSignal;
}

/** The committed blob; `existed` when containerd already had it. */
export interface WriteContentResult {
  digest: string;
  existed: boolean;
}

/** Validates a content digest ("algorithm:encoded"); throws InvalidArgumentError. */
export function assertDigest(digest: unknown, what = "digest"): asserts digest is string {
  if (typeof digest !== "string" || !DIGEST_RE.test(digest)) throw new InvalidArgumentError(`${what} ${JSON.stringify(digest)} is not a content digest like sha256:<hex>`);
}

// Re-cuts any byte source into chunks of at most WRITE_CHUNK_BYTES, skipping the first `skip` bytes.
async function* chunks(source: WriteContentRequestOptions["source"], skip: number): AsyncGenerator<Buffer> {
  const input: AsyncIterable<Buffer | Uint8Array> | Iterable<Buffer | Uint8Array> = source instanceof Uint8Array ? [source] : source;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let toSkip = skip;
  for await (const piece of input) {
    let buf = Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    if (toSkip > 0) {
      const n = Math.min(toSkip, buf.length);
      buf = buf.subarray(n);
      toSkip -= n;
    }
    while (buf.length > 0) {
      const take = Math.min(buf.length, WRITE_CHUNK_BYTES - pendingBytes);
      pending.push(buf.subarray(0, take));
      pendingBytes += take;
      buf = buf.subarray(take);
      if (pendingBytes === WRITE_CHUNK_BYTES) {
        yield pending.length === 1 ? pending[0]! : Buffer.concat(pending);
        pending = [];
        pendingBytes = 0;
      }
    }
  }
  if (pendingBytes > 0) yield pending.length === 1 ? pending[0]! : Buffer.concat(pending);
  if (toSkip > 0) throw new InvalidArgumentError(`content source ended before the resume offset ${skip}`);
}

// Sends requests without waiting (each answered in order, one answer per request); `exchange` waits for its own.
class Exchanges {
  private readonly waiters: { resolve: (r: WriteContentResponse__Output) => void; reject: (e: unknown) => void }[] = [];
  private failure: unknown;

  constructor(private readonly call: grpc.ClientDuplexStream<WriteContentRequest, WriteContentResponse__Output>) {
    call.on("data", (res: WriteContentResponse__Output) => {
      const w = this.waiters.shift();
      if (w) w.resolve(res);
      else this.fail(new InternalError("containerd answered a content write request that was not sent"));
    });
    call.on("error", (err: unknown) => this.fail(err));
    call.on("end", () => this.fail(new InternalError("containerd ended the content write stream early")));
  }

  private fail(err: unknown): void {
    this.failure ??= err;
    for (const w of this.waiters.splice(0)) w.reject(this.failure);
  }

  /** Sends `req`; the promise settles with its answer. */
  exchange(req: WriteContentRequest): Promise<WriteContentResponse__Output> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const answer = new Promise<WriteContentResponse__Output>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.call.write(req);
    return answer;
  }
}

/** Writes one blob through Content.Write; see the file header for the protocol. */
export async function writeContent(conn: Connection, scope: CallScope, req: WriteContentRequestOptions): Promise<WriteContentResult> {
  if (typeof req.ref !== "string" || req.ref === "") throw new InvalidArgumentError("writeContent: ref must be a non-empty string");
  assertDigest(req.expected, "writeContent: expected");
  if (!Number.isSafeInteger(req.total) || req.total < 0) throw new InvalidArgumentError(`writeContent: total must be a byte count, got ${req.total}`);
  const { signal } = req;
  const methods = conn.registry.service("containerd.services.content.v1.Content");
  const write = methods.Write as MethodDefinition<object, object>;
  const name = "Content.Write";

  let call: grpc.ClientDuplexStream<WriteContentRequest, WriteContentResponse__Output> | undefined;
  const onAbort = () => call?.cancel();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    // STAT opens the ingest; a ref locked by another writer answers UNAVAILABLE from a live server: wait, retry.
    let stat: WriteContentResponse__Output | undefined;
    let lockedSince: number | undefined;
    for (let backoff = 16; stat === undefined; backoff = Math.min(backoff * 2, 1000)) {
      if (signal?.aborted) throw new CancelledError(`containerd ${name}: cancelled`, { cause: signal.reason });
      call = conn.bidi<WriteContentRequest, WriteContentResponse__Output>(write, name, scope);
      call.on("error", () => {}); // Exchanges reports errors; a late one after cancel must not go unhandled
      const steps = new Exchanges(call);
      try {
        stat = await steps.exchange({ action: "STAT", ref: req.ref, total: req.total, expected: req.expected });
        await streamAndCommit(steps, stat, req);
        call.end();
        return { digest: req.expected, existed: false };
      } catch (err) {
        if (hasGrpcCode(err, grpc.status.ALREADY_EXISTS)) {
          call.end();
          await mergeLabels(conn, scope, req);
          return { digest: req.expected, existed: true };
        }
        if (stat === undefined && hasGrpcCode(err, grpc.status.UNAVAILABLE) && conn.connected() && !signal?.aborted) {
          lockedSince ??= Date.now();
          if (Date.now() - lockedSince > LOCKED_REF_WAIT_MS) throw new TimeoutError(`containerd ${name}: ref ${req.ref} stayed locked by another writer for ${LOCKED_REF_WAIT_MS} ms`, { cause: err });
          call.cancel();
          await delay(backoff, undefined, signal ? { signal } : {}).catch(() => {});
          continue;
        }
        throw err;
      }
    }
    throw new InternalError(`containerd ${name}: unreachable`);
  } catch (err) {
    call?.cancel();
    await abortRef(conn, scope, req.ref);
    throw conn.fail(err, name, signal);
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

// WRITE from the resume offset (a window of them in flight), then COMMIT once every WRITE was answered.
async function streamAndCommit(steps: Exchanges, stat: WriteContentResponse__Output, req: WriteContentRequestOptions): Promise<void> {
  let offset = Number(stat.offset);
  if (req.total > 0 && offset > req.total) offset = 0; // a stale, oversized ingest: start over (offset 0 truncates)
  const inFlight: Promise<void>[] = [];
  const written = (answer: Promise<WriteContentResponse__Output>, want: number): Promise<void> =>
    answer.then((res) => {
      if (Number(res.offset) !== want) throw new InternalError(`containerd Content.Write: expected offset ${want} after a write, containerd reports ${res.offset}`);
    });
  try {
    for await (const data of chunks(req.source, offset)) {
      if (inFlight.length >= WRITE_WINDOW) await inFlight.shift();
      inFlight.push(written(steps.exchange({ action: "WRITE", ref: req.ref, offset, data }), offset + data.length));
      offset += data.length;
    }
    while (inFlight.length > 0) await inFlight.shift();
  } finally {
    for (const p of inFlight) p.catch(() => {}); // the first failure is thrown; the rest must not go unhandled
  }
  await steps.exchange({ action: "COMMIT", ref: req.ref, total: req.total, offset, expected: req.expected, labels: req.labels ?? {} });
}

// An existing blob keeps its labels; the requested ones are merged in (labels.<key> paths update only those keys).
async function mergeLabels(conn: Connection, scope: CallScope, req: WriteContentRequestOptions): Promise<void> {
  const labels = req.labels ?? {};
  const keys = Object.keys(labels);
  if (keys.length === 0) return;
  const update = conn.registry.service("containerd.services.content.v1.Content").Update as MethodDefinition<object, object>;
  await conn.unary(update, "Content.Update", { info: { digest: req.expected, labels }, update_mask: { paths: keys.map((k) => `labels.${k}`) } }, scope, { signal: req.signal });
}

// Best effort: drop the unfinished ingest so a failed write leaves nothing behind.
async function abortRef(conn: Connection, scope: CallScope, ref: string): Promise<void> {
  const abort = conn.registry.service("containerd.services.content.v1.Content").Abort as MethodDefinition<object, object>;
  try {
    await conn.unary(abort, "Content.Abort", { ref }, scope, { timeoutMs: 10_000 });
  } catch {
    // NOT_FOUND (nothing was ingested) or containerd gone: nothing more to clean up from here.
  }
}
