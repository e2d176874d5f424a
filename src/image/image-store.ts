// Images already in containerd: the image record (the GC root) and the index/manifest/config it points to, read
// back from the content store, so a caller that pulled before gets the same PulledImage without the registry.
import type { ContainerdClient } from "../containerd/index.js";
import { ImageError, SvcdError } from "../common/errors.js";
import { chainIds } from "./chain-id.js";
import { parseImageConfig, type OciImageConfig } from "./image-config.js";
import { MAX_MANIFEST_BYTES, parseManifestBody, type Descriptor, type ImageManifest } from "./manifest.js";
import { formatPlatform, selectPlatform, type Platform } from "./platform.js";

/** An image ready to run: its record's target, config and the top snapshot of its unpacked layers. */
export interface PulledImage {
  /** Normalised reference, the image record's name (`docker.io/library/python:latest`). */
  name: string;
  /** What the image record points at: a manifest or an index. */
  target: Descriptor;
  /** The platform manifest chosen (equals target.digest when the target is a manifest). */
  manifestDigest: string;
  config: OciImageConfig;
  configDigest: string;
  /** Name of the top committed snapshot: the parent of a container's rootfs. */
  chainId: string;
  diffIds: string[];
  snapshotter: string;
}

/** Reads a small blob from the content store (manifests, configs). */
export async function readBlob(client: ContainerdClient, digest: string, ref: string, signal?: AbortSignal): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of client.readContent(digest, { signal })) {
    total += chunk.length;
    if (total > MAX_MANIFEST_BYTES) throw new ImageError("INTERNAL", ref, `image ${ref}: blob ${digest} is too large to read`);
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

/** Picks this platform's manifest out of an index, or explains which platforms there are. */
export function pickManifest(manifests: readonly Descriptor[], platform: Platform, ref: string): Descriptor {
  const chosen = selectPlatform(manifests, platform);
  if (!chosen) {
    const have = manifests.map((m) => (m.platform ? formatPlatform(m.platform) : "?")).join(", ");
    throw new ImageError("NOT_FOUND", ref, `image ${ref} has no ${formatPlatform(platform)} variant (it has: ${have || "none"})`);
  }
  return chosen;
}

/** The image record's target, or undefined when there is no such record. */
export async function getImageTarget(client: ContainerdClient, name: string, signal?: AbortSignal): Promise<Descriptor | undefined> {
  try {
    const { image } = await client.images.get({ name }, { signal });
    const t = image?.target;
    if (!t) return undefined;
    const out: Descriptor = { mediaType: t.media_type, digest: t.digest, size: Number(t.size) };
    if (t.annotations && Object.keys(t.annotations).length > 0) out.annotations = { ...t.annotations };
    return out;
  } catch (err) {
    if (SvcdError.is(err) && err.code === "NOT_FOUND") return undefined;
    throw err;
  }
}

/** Rebuilds a PulledImage from content already in containerd (index → manifest → config). */
export async function loadImage(
  client: ContainerdClient,
  name: string,
  target: Descriptor,
  opts: { platform: Platform; snapshotter: string; signal?: AbortSignal },
): Promise<PulledImage> {
  let top = parseManifestBody(await readBlob(client, target.digest, name, opts.signal), target.mediaType, name);
  let manifestDigest = target.digest;
  for (let depth = 0; top.kind === "index"; depth++) {
    if (depth > 2) throw new ImageError("INTERNAL", name, `image ${name}: indexes nested too deep`);
    const chosen = pickManifest(top.manifests, opts.platform, name);
    manifestDigest = chosen.digest;
    top = parseManifestBody(await readBlob(client, chosen.digest, name, opts.signal), chosen.mediaType, name);
  }
  const manifest: ImageManifest = top;
  const parsed = parseImageConfig(await readBlob(client, manifest.config.digest, name, opts.signal), name);
  const chain = chainIds(parsed.diffIds);
  const chainId = chain[chain.length - 1];
  if (chainId === undefined) throw new ImageError("INVALID_ARGUMENT", name, `image ${name} has no layers`);
  return {
    name,
    target,
    manifestDigest,
    config: parsed.config,
    configDigest: manifest.config.digest,
    chainId,
    diffIds: parsed.diffIds,
    snapshotter: opts.snapshotter,
  };
}

/** Creates the image record, or points an existing one at the new target. */
export async function upsertImageRecord(client: ContainerdClient, name: string, target: Descriptor, labels: Record<string, string>, signal?: AbortSignal): Promise<void> {
  const image = {
    name,
    labels,
    target: { media_type: target.mediaType, digest: target.digest, size: target.size, annotations: target.annotations ?? {} },
  };
  try {
    await client.images.create({ image }, { signal });
  } catch (err) {
    if (!(SvcdError.is(err) && err.code === "ALREADY_EXISTS")) throw err;
    const paths = ["target", ...Object.keys(labels).map((k) => `labels.${k}`)];
    await client.images.update({ image, update_mask: { paths } }, { signal });
  }
}
