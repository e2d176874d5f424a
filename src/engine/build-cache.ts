// The build cache: every filesystem step is a committed containerd snapshot named by the digest of the chain that
// produced it (`sha256:<hex>`), so an identical chain is found by name in this or any later process. Each carries a
// GC root and, for execs, references to its stored stdout/stderr blobs, so containerd's GC keeps both.
//
// Layout: snapshot name = chain key; labels svcd.io/cache.digest = chain key, containerd.io/gc.root,
// svcd.io/cache.last-used (refreshed at most hourly), svcd.io/cache.size (diff bytes, measured before the commit), for
// execs svcd.io/cache.exit-code, svcd.io/cache.output-bytes and containerd.io/gc.ref.content.stdout|stderr = blob
// digests. Invariants: a snapshot exists under a chain key only once its outputs are in the content store (they are
// written before the commit); a session marks a key in use before it trusts a hit (prune/in-use.ts), and a step
// found without its GC root (a pruner is taking it) is re-rooted or treated as a miss.
import type { ContainerdClient } from "../containerd/index.js";
import { SvcdError, hasCode } from "../common/errors.js";
import { debug } from "../common/debug.js";
import { CACHE, GC } from "../common/labels.js";
import { sha256Digest, type ExecResult } from "../definition/index.js";
import { LruMap } from "./lru-map.js";
import type { InUseMarks } from "./prune/in-use.js";

const log = debug("engine");

/** An exec's outcome as the cache holds it: the exit code and where its output is stored (read on demand). */
export interface CachedExec {
  exitCode: number;
  stdoutDigest: string | undefined;
  stderrDigest: string | undefined;
}

export interface CachedStep {
  key: string;
  exec?: CachedExec;
  /** Only on a step this call just ran: its output, still in memory. Never memoised. */
  fresh?: ExecResult;
}

export interface BuildCacheOptions {
  /** This session's in-use marks (absent: nothing protects its steps from a pruner). */
  inUse?: InUseMarks | undefined;
  /** Called after every commit: the cache grew (the automatic GC may want to run). */
  onCommit?: (() => void) | undefined;
  /** Steps remembered in-process (default 4096; a forgotten one costs one Stat on its next use). */
  memoSize?: number | undefined;
}

/** Last-use labels are refreshed only when older than this: one write per step and hour, not one per hit. */
export const LAST_USE_RESOLUTION_MS = 60 * 60 * 1000;
/** Pending last-use refreshes beyond this are dropped (the order is advisory; the bound is not). */
const MAX_PENDING_TOUCHES = 1024;
/** Outputs read back are kept only when small, and only this many characters in all: repeated stdout() stays cheap. */
const OUTPUT_MEMO = { maxEntryBytes: 64 * 1024, maxTotalBytes: 4 * 1024 * 1024 };
const EMPTY_DIGEST = sha256Digest(Buffer.alloc(0));

export class BuildCache {
  readonly #client: ContainerdClient;
  readonly #snapshotter: string;
  readonly #opts: BuildCacheOptions;
  // Steps read or made in this process (metadata only: outputs stay in the content store); a hit answers at once.
  readonly #known: LruMap<string, CachedStep>;
  readonly #texts = new LruMap<string, string>(1024, { maxWeight: OUTPUT_MEMO.maxTotalBytes, weight: (t) => t.length });
  readonly #touches = new Set<string>();
  #flushing: Promise<void> | undefined;

  constructor(client: ContainerdClient, snapshotter: string, opts: BuildCacheOptions = {}) {
    this.#client = client;
    this.#snapshotter = snapshotter;
    this.#opts = opts;
    this.#known = new LruMap(opts.memoSize ?? 4096);
  }

  /** The committed step for this chain key, or undefined when it was never built (or was removed). */
  async lookup(key: string, signal?: AbortSignal): Promise<CachedStep | undefined> {
    const known = this.#known.get(key);
    if (known) return known;
    this.#opts.inUse?.mark(key); // before the Stat: a pruner reading marks after unrooting it sees this one
    let labels: Record<string, string>;
    try {
      const { info } = await this.#client.snapshots.stat({ snapshotter: this.#snapshotter, key }, { signal });
      labels = info?.labels ?? {};
    } catch (err) {
      if (SvcdError.is(err) && err.code === "NOT_FOUND") return undefined;
      throw err;
    }
    // Unrooted: a pruner is removing it (or died doing so). Rooted again before its GC, it stays; after, it is gone.
    if (labels[GC.root] === undefined && !(await this.#reroot(key, signal))) return undefined;
    const step: CachedStep = { key };
    if (labels[CACHE.exitCode] !== undefined) {
      step.exec = {
        exitCode: Number(labels[CACHE.exitCode]),
        stdoutDigest: labels[GC.refContent + "stdout"],
        stderrDigest: labels[GC.refContent + "stderr"],
      };
    }
    if (!(Date.now() - Date.parse(labels[CACHE.lastUsed] ?? "") < LAST_USE_RESOLUTION_MS)) this.#touch(key);
    this.#known.set(key, step);
    return step;
  }

  /** An exec step's output: from memory for a step just run, else read back from the content store. */
  async outputs(step: CachedStep, signal?: AbortSignal): Promise<ExecResult> {
    if (step.fresh) return step.fresh;
    if (!step.exec) return { exitCode: 0, stdout: "", stderr: "" };
    const [stdout, stderr] = await Promise.all([this.#readOutput(step.exec.stdoutDigest, signal), this.#readOutput(step.exec.stderrDigest, signal)]);
    return { exitCode: step.exec.exitCode, stdout, stderr };
  }

  /**
   * Commits an exec's rootfs as a build step with its outputs, which are stored (under the caller's lease) while the
   * snapshot's size is measured: a snapshot exists under a chain key only once its outputs are in the content store.
   */
  async commitExec(leased: ContainerdClient, req: { name: string; key: string; result: ExecResult }, signal?: AbortSignal): Promise<CachedExec> {
    const [outputs, size] = await Promise.all([this.#storeOutputs(leased, req.result, signal), this.#sizeLabel(leased, req.key, signal)]);
    await this.#commit(leased, { name: req.name, key: req.key, labels: { ...stepLabels(req.name), ...outputs, ...size } }, signal);
    return { exitCode: req.result.exitCode, stdoutDigest: outputs[GC.refContent + "stdout"], stderrDigest: outputs[GC.refContent + "stderr"] };
  }

  /** Commits a build snapshot (a file step's), recording its size. */
  async commit(leased: ContainerdClient, req: { name: string; key: string }, signal?: AbortSignal): Promise<void> {
    const size = await this.#sizeLabel(leased, req.key, signal);
    await this.#commit(leased, { ...req, labels: { ...stepLabels(req.name), ...size } }, signal);
  }

  /** Records a step this process committed (its outputs stay in the content store, not here). */
  remember(step: CachedStep): void {
    this.#known.set(step.key, step.exec ? { key: step.key, exec: step.exec } : { key: step.key });
  }

  get snapshotter(): string {
    return this.#snapshotter;
  }

  /** The session ends: last-use refreshes are written, its in-use marks dropped. */
  async close(): Promise<void> {
    await this.#flushing;
    await this.#opts.inUse?.close();
  }

  /** The exec's output as content blobs; returns the labels its snapshot carries. */
  async #storeOutputs(leased: ContainerdClient, result: ExecResult, signal?: AbortSignal): Promise<Record<string, string>> {
    const labels: Record<string, string> = { [CACHE.exitCode]: String(result.exitCode) };
    let bytes = 0;
    // Both blobs at once. Equal outputs (often two empty ones) are one blob: its ref is taken once.
    const blobs = new Map<string, Buffer>();
    for (const [name, text] of [["stdout", result.stdout], ["stderr", result.stderr]] as const) {
      const data = Buffer.from(text, "utf8");
      const digest = sha256Digest(data);
      blobs.set(digest, data);
      labels[GC.refContent + name] = digest;
      bytes += data.length;
    }
    await Promise.all(
      [...blobs].map(([digest, data]) => leased.writeContent({ ref: `svcd-output-${digest}`, expected: digest, total: data.length, source: data, signal })),
    );
    labels[CACHE.outputBytes] = String(bytes);
    return labels;
  }

  /** The size label of an active snapshot: Usage walks its upper dir (the commit repeats the walk). */
  async #sizeLabel(leased: ContainerdClient, key: string, signal?: AbortSignal): Promise<Record<string, string>> {
    try {
      const usage = await leased.snapshots.usage({ snapshotter: this.#snapshotter, key }, { signal });
      return { [CACHE.size]: String(Number(usage.size) || 0) };
    } catch (err) {
      log("usage of %s: %s", key, err); // the pruner asks containerd instead
      return {};
    }
  }

  /** Another process having committed the same chain first is as good. */
  async #commit(leased: ContainerdClient, req: { name: string; key: string; labels: Record<string, string> }, signal?: AbortSignal): Promise<void> {
    try {
      await leased.snapshots.commit({ snapshotter: this.#snapshotter, ...req }, { signal });
    } catch (err) {
      if (!(SvcdError.is(err) && err.code === "ALREADY_EXISTS")) throw err;
    }
    this.#opts.onCommit?.();
  }

  /** Queues a last-use refresh, written in the background one at a time (never on the caller's path). */
  #touch(key: string): void {
    if (this.#touches.size >= MAX_PENDING_TOUCHES) return;
    this.#touches.add(key);
    this.#flushing ??= (async () => {
      for (const next of this.#touches) {
        this.#touches.delete(next);
        await this.#client.snapshots
          .update({
            snapshotter: this.#snapshotter,
            info: { name: next, labels: { [CACHE.lastUsed]: new Date().toISOString() } },
            update_mask: { paths: [`labels.${CACHE.lastUsed}`] },
          })
          .catch((err: unknown) => log("last use of %s: %s", next, err));
      }
      this.#flushing = undefined;
    })();
  }

  async #reroot(key: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.#client.snapshots.update(
        { snapshotter: this.#snapshotter, info: { name: key, labels: { [GC.root]: new Date().toISOString() } }, update_mask: { paths: [`labels.${GC.root}`] } },
        { signal },
      );
      return true;
    } catch (err) {
      if (hasCode(err, "NOT_FOUND")) return false;
      throw err;
    }
  }

  async #readOutput(digest: string | undefined, signal?: AbortSignal): Promise<string> {
    if (!digest || digest === EMPTY_DIGEST) return "";
    const known = this.#texts.get(digest);
    if (known !== undefined) return known;
    const parts: Buffer[] = [];
    for await (const chunk of this.#client.readContent(digest, { signal })) parts.push(chunk);
    const data = Buffer.concat(parts);
    const text = data.toString("utf8");
    if (data.length <= OUTPUT_MEMO.maxEntryBytes) this.#texts.set(digest, text);
    return text;
  }
}

/** Labels every build snapshot carries. */
function stepLabels(key: string): Record<string, string> {
  const now = new Date().toISOString();
  return { [CACHE.digest]: key, [GC.root]: now, [CACHE.lastUsed]: now };
}
