// Pull + unpack, all under one lease: index/manifest/config/layers into the content store (verified, with the GC
// labels containerd's own client sets), layers unpacked into chainID snapshots, the config labelled with the top
// snapshot, then the image record (the GC root). The lease goes only after that, so nothing is collected midway;
// a failed pull leaves no image record and its blobs vanish with the lease.
import type { ContainerdClient } from "../containerd/index.js";
import { CancelledError, ImageError, InvalidArgumentError, throwIfAborted } from "../common/errors.js";
import { GC } from "../common/labels.js";
import { debug } from "../common/debug.js";
import type { ProcessRunner } from "../common/process-runner.js";
import { chainIds } from "./chain-id.js";
import { parseImageConfig } from "./image-config.js";
import { getImageTarget, loadImage, pickManifest, upsertImageRecord, type PulledImage } from "./image-store.js";
import { parseManifestBody, type Descriptor, type ImageManifest } from "./manifest.js";
import { hostPlatform, parsePlatform, type Platform } from "./platform.js";
import { parseReference } from "./reference.js";
import type { RegistryMirrors } from "./registry/endpoints.js";
import { RegistryClient, type ResolvedImage } from "./registry/registry-client.js";
import { snapshotExists, unpackLayers } from "./unpack.js";

/** Bytes of one layer arrived (`current` of `total`). */
export interface PullProgress {
  type: "pull";
  ref: string;
  layer: string;
  current: number;
  total: number;
}

export interface PullOptions {
  /** Spawns docker credential helpers. */
  runner: ProcessRunner;
  /** Registry mirrors (merged with SVCD_REGISTRY_MIRRORS from `env`). */
  mirrors?: RegistryMirrors;
  /** Environment for mirrors and docker credentials; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** A registry client to reuse (its token cache); otherwise one is made from mirrors/env/runner. */
  registry?: RegistryClient;
  /** Try the registry itself after its mirrors said NOT_FOUND or were unreachable (default true). */
  upstreamFallback?: boolean;
  /** Snapshotter to unpack into; default overlayfs. */
  snapshotter?: string;
  /** `os/arch[/variant]` or a Platform; default this host's (linux/amd64, linux/arm64/v8, …). */
  platform?: string | Platform;
  onProgress?: (event: PullProgress) => void;
  signal?: AbortSignal;
  /** Labels on the pull's transient objects (the lease, extract snapshots): ownership, for reaping. */
  labels?: Record<string, string>;
  /** Labels on the image record. */
  imageLabels?: Record<string, string>;
  /** Layers downloaded at once; default 3. */
  concurrency?: number;
}

/** Lifetime of the pull lease should this process die mid-pull. */
const PULL_LEASE_EXPIRE_MS = 60 * 60 * 1000;
const PROGRESS_STEP_BYTES = 1024 * 1024;

/** Validates a snapshotter name. */
export function checkSnapshotter(name: string): string {
  if (!/^[a-z0-9][a-z0-9_.-]{0,63}$/.test(name)) throw new InvalidArgumentError(`invalid snapshotter name ${JSON.stringify(name)}`);
  return name;
}

/** The platform option as a Platform. */
export function platformOption(value: string | Platform | undefined): Platform {
  if (value === undefined) return hostPlatform();
  if (typeof value === "string") return parsePlatform(value);
  if (typeof value.os !== "string" || typeof value.architecture !== "string") throw new InvalidArgumentError("platform needs os and architecture");
  return value;
}

/** Runs `fn` for each item with at most `limit` running; the promises resolve per item. */
function limited<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R>[] {
  let running = 0;
  const queue: (() => void)[] = [];
  const acquire = () => (running < limit ? (running++, Promise.resolve()) : new Promise<void>((r) => queue.push(r)));
  const release = () => {
    const next = queue.shift();
    if (next) next();
    else running--;
  };
  return items.map(async (item, i) => {
    await acquire();
    try {
      return await fn(item, i);
    } finally {
      release();
    }
  });
}

/**
 * Pulls `ref` into containerd and unpacks it. When the image record already points at what the registry resolves
 * to and its top snapshot exists, nothing is downloaded (the resolve is a HEAD).
 */
export async function pullImage(client: ContainerdClient, input: string, opts: PullOptions): Promise<PulledImage> {
  const ref = parseReference(input);
  const name = ref.toString();
  const snapshotter = checkSnapshotter(opts.snapshotter ?? "overlayfs");
  const platform = platformOption(opts.platform);
  const concurrency = opts.concurrency ?? 3;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new InvalidArgumentError(`concurrency must be a positive integer, got ${concurrency}`);
  const { signal } = opts;
  const log = debug("image");
  throwIfAborted(signal);
  const registry = opts.registry ?? new RegistryClient({ runner: opts.runner, mirrors: opts.mirrors, env: opts.env, upstreamFallback: opts.upstreamFallback });

  // The stored image is read while the registry answers (a later process's cached build waits for both, issue 13);
  // it is used only when the registry resolves to the same digest.
  const stored = storedImage(client, name, { platform, snapshotter, signal });
  let resolved: ResolvedImage;
  try {
    resolved = await registry.resolve(ref, signal);
  } catch (err) {
    await stored;
    throw err;
  }
  const target = resolved.descriptor;

  const local = await stored;
  if (local.target?.digest === target.digest) {
    if (local.image) {
      log("%s is up to date (%s)", name, target.digest);
      return local.image;
    }
    const err = local.error;
    if (err !== undefined) {
      if (!(err instanceof ImageError || (err as { code?: string }).code === "NOT_FOUND")) throw err;
      log("%s: stored image incomplete, pulling again: %s", name, (err as Error).message);
    }
  }

  return client.withLeaseScope(
    (leased, leaseId) => pullUnderLease(leased, leaseId, registry, resolved, { name, snapshotter, platform, concurrency, opts }),
    { expireMs: PULL_LEASE_EXPIRE_MS, labels: opts.labels },
  );
}

/** What the content store holds under `name`: its target, and the image when complete (its top snapshot exists). */
interface StoredImage {
  target?: Descriptor | undefined;
  image?: PulledImage | undefined;
  /** Why the stored image could not be loaded (judged by the caller, only when its target is what it wants). */
  error?: unknown;
}

/** Never rejects: errors are returned, so an unawaited lookup cannot go unhandled. */
async function storedImage(client: ContainerdClient, name: string, opts: { platform: Platform; snapshotter: string; signal?: AbortSignal | undefined }): Promise<StoredImage> {
  let target: Descriptor | undefined;
  try {
    target = await getImageTarget(client, name, opts.signal);
    if (!target) return {};
    const image = await loadImage(client, name, target, { platform: opts.platform, snapshotter: opts.snapshotter, ...(opts.signal ? { signal: opts.signal } : {}) });
    return (await snapshotExists(client, opts.snapshotter, image.chainId, opts.signal)) ? { target, image } : { target };
  } catch (error) {
    return { target, error };
  }
}

interface PullState {
  name: string;
  snapshotter: string;
  platform: Platform;
  concurrency: number;
  opts: PullOptions;
}

async function contentExists(client: ContainerdClient, digest: string, signal?: AbortSignal): Promise<boolean> {
  try {
    await client.content.info({ digest }, { signal });
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === "NOT_FOUND") return false;
    throw err;
  }
}

/** Writes a small verified blob; labels are merged into an existing blob's. */
async function writeBlob(client: ContainerdClient, kind: string, desc: Descriptor, body: Buffer, labels: Record<string, string>, signal?: AbortSignal): Promise<void> {
  const res = await client.writeContent({ ref: `${kind}-${desc.digest}`, expected: desc.digest, total: desc.size, labels, source: body, signal });
  if (res.existed) {
    await client.content.update({ info: { digest: desc.digest, labels }, update_mask: { paths: Object.keys(labels).map((k) => `labels.${k}`) } }, { signal });
  }
}

async function pullUnderLease(client: ContainerdClient, leaseId: string, registry: RegistryClient, resolved: ResolvedImage, st: PullState): Promise<PulledImage> {
  const { name, snapshotter, opts } = st;
  const signal = opts.signal;
  const log = debug("image");
  const source = { [GC.distributionSource + resolved.ref.domain]: resolved.ref.path };
  const target = resolved.descriptor;

  // Walk index(es) down to this platform's manifest.
  const parents: { desc: Descriptor; body: Buffer; child: string }[] = [];
  let desc = target;
  let body = await registry.fetchManifest(resolved, desc, signal);
  let doc = parseManifestBody(body, desc.mediaType, name);
  while (doc.kind === "index") {
    if (parents.length > 2) throw new ImageError("INTERNAL", name, `image ${name}: indexes nested too deep`);
    const chosen = pickManifest(doc.manifests, st.platform, name);
    parents.push({ desc, body, child: chosen.digest });
    desc = chosen;
    body = await registry.fetchManifest(resolved, desc, signal);
    doc = parseManifestBody(body, desc.mediaType, name);
  }
  const manifest: ImageManifest = doc;
  const configBody = await registry.fetchBlobBuffer(resolved, manifest.config, signal);
  const parsed = parseImageConfig(configBody, name);
  if (manifest.layers.length === 0) throw new ImageError("INVALID_ARGUMENT", name, `image ${name} has no layers`);
  if (parsed.diffIds.length !== manifest.layers.length) {
    throw new ImageError("INTERNAL", name, `image ${name}: config lists ${parsed.diffIds.length} diff_ids for ${manifest.layers.length} layers`);
  }
  const chain = chainIds(parsed.diffIds);
  const top = chain[chain.length - 1]!;

  // Layers download concurrently; unpacking takes them in order as they arrive.
  const inner = new AbortController();
  const onAbort = () => inner.abort(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  const progress = (layer: Descriptor, current: number) => opts.onProgress?.({ type: "pull", ref: name, layer: layer.digest, current, total: layer.size });
  const downloads = limited(manifest.layers, st.concurrency, async (layer) => {
    if (await contentExists(client, layer.digest, inner.signal)) {
      // Keep it alive under this lease until the manifest references it.
      await client.leases.addResource({ id: leaseId, resource: { id: layer.digest, type: "content" } }, { signal: inner.signal });
      progress(layer, layer.size);
      return;
    }
    let reported = 0;
    const stream = await registry.openBlob(resolved, layer, inner.signal, (current) => {
      if (current - reported >= PROGRESS_STEP_BYTES || current === layer.size) {
        reported = current;
        progress(layer, current);
      }
    });
    await client.writeContent({ ref: `layer-${layer.digest}`, expected: layer.digest, total: layer.size, labels: source, source: stream, signal: inner.signal });
    log("fetched %s (%d bytes)", layer.digest, layer.size);
  });
  for (const d of downloads) d.catch(() => {}); // awaited below; never unhandled
  try {
    await unpackLayers(client, {
      snapshotter,
      layers: manifest.layers,
      diffIds: parsed.diffIds,
      chainIds: chain,
      labels: opts.labels,
      ready: (i) => downloads[i]!.then(() => undefined),
      ref: name,
      signal,
    });
    await Promise.all(downloads);
  } catch (err) {
    inner.abort(err);
    await Promise.allSettled(downloads);
    if (signal?.aborted && !(err instanceof CancelledError)) throw new CancelledError(`pull of ${name} cancelled`, { cause: signal.reason });
    throw err;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  await client.leases.addResource({ id: leaseId, resource: { id: top, type: `snapshots/${snapshotter}` } }, { signal });

  // Children first, each parent carrying the GC references to them.
  await writeBlob(client, "config", manifest.config, configBody, { ...source, [GC.refSnapshot + snapshotter]: top }, signal);
  const manifestLabels: Record<string, string> = { ...source, [GC.refContent + "config"]: manifest.config.digest };
  manifest.layers.forEach((l, i) => (manifestLabels[`${GC.refContent}l.${i}`] = l.digest));
  await writeBlob(client, "manifest", desc, body, manifestLabels, signal);
  for (const parent of parents.reverse()) {
    await writeBlob(client, "index", parent.desc, parent.body, { ...source, [GC.refContent + "m.0"]: parent.child }, signal);
  }
  throwIfAborted(signal);
  await upsertImageRecord(client, name, target, opts.imageLabels ?? {}, signal);
  log("pulled %s → %s (top snapshot %s)", name, target.digest, top);
  return {
    name,
    target,
    manifestDigest: desc.digest,
    config: parsed.config,
    configDigest: manifest.config.digest,
    chainId: top,
    diffIds: parsed.diffIds,
    snapshotter,
  };
}
