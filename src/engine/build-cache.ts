// The build cache: every filesystem step is a committed containerd snapshot named by the digest of the chain that
// produced it (`sha256:<hex>`), so an identical chain is found by name in this or any later process. Each carries a
// GC root and, for execs, references to its stored stdout/stderr blobs, so containerd's GC keeps both.
//
// Layout: snapshot name = chain key; labels svcd.io/cache.digest = chain key, containerd.io/gc.root, for execs
// svcd.io/cache.exit-code and containerd.io/gc.ref.content.stdout|stderr = blob digests. Invariant: a snapshot exists
// under a chain key only once its outputs are in the content store (they are written before the commit).
import type { ContainerdClient } from "../containerd/index.js";
import { SvcdError } from "../common/errors.js";
import { CACHE, GC } from "../common/labels.js";
import { sha256Digest, type ExecResult } from "../definition/index.js";

export interface CachedStep {
  key: string;
  exec?: ExecResult;
}


export class BuildCache {
  readonly #client: ContainerdClient;
  readonly #snapshotter: string;
  // Results read or made in this process; a hit answers without a round trip.
  readonly #known = new Map<string, CachedStep>();

  constructor(client: ContainerdClient, snapshotter: string) {
    this.#client = client;
    this.#snapshotter = snapshotter;
  }

  /** The committed step for this chain key, or undefined when it was never built (or was removed). */
  async lookup(key: string, signal?: AbortSignal): Promise<CachedStep | undefined> {
    const known = this.#known.get(key);
    if (known) return known;
    let labels: Record<string, string>;
    try {
      const { info } = await this.#client.snapshots.stat({ snapshotter: this.#snapshotter, key }, { signal });
      labels = info?.labels ?? {};
    } catch (err) {
      if (SvcdError.is(err) && err.code === "NOT_FOUND") return undefined;
      throw err;
    }
    const step: CachedStep = { key };
    if (labels[CACHE.exitCode] !== undefined) {
      const [stdout, stderr] = await Promise.all([
        this.#readOutput(labels[GC.refContent + "stdout"], signal),
        this.#readOutput(labels[GC.refContent + "stderr"], signal),
      ]);
      step.exec = { exitCode: Number(labels[CACHE.exitCode]), stdout, stderr };
    }
    this.#known.set(key, step);
    return step;
  }

  /** Stores an exec's output as content (under the caller's lease) and returns the labels its snapshot carries. */
  async storeOutputs(leased: ContainerdClient, result: ExecResult, signal?: AbortSignal): Promise<Record<string, string>> {
    const labels: Record<string, string> = { [CACHE.exitCode]: String(result.exitCode) };
    for (const [name, text] of [["stdout", result.stdout], ["stderr", result.stderr]] as const) {
      const data = Buffer.from(text, "utf8");
      const digest = sha256Digest(data);
      await leased.writeContent({ ref: `svcd-output-${digest}`, expected: digest, total: data.length, source: data, signal });
      labels[GC.refContent + name] = digest;
    }
    return labels;
  }

  /** Labels every build snapshot carries. */
  static labels(key: string): Record<string, string> {
    return { [CACHE.digest]: key, [GC.root]: new Date().toISOString() };
  }

  /** Records a step built by this process. */
  remember(step: CachedStep): void {
    this.#known.set(step.key, step);
  }

  get snapshotter(): string {
    return this.#snapshotter;
  }

  async #readOutput(digest: string | undefined, signal?: AbortSignal): Promise<string> {
    if (!digest) return "";
    const parts: Buffer[] = [];
    for await (const chunk of this.#client.readContent(digest, { signal })) parts.push(chunk);
    return Buffer.concat(parts).toString("utf8");
  }
}

