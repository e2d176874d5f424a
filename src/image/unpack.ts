// Unpacks an image's layers into snapshots named by chainID, bottom first, the way containerd's own unpacker does:
// a layer whose chainID snapshot exists is skipped; otherwise Prepare(extract key) → Diff.Apply → check the applied
// digest against the config's diffID → Commit(chainID). containerd does the mounting and decompression.
import { nanoid } from "nanoid";
import type { ContainerdClient } from "../containerd/index.js";
import { ImageError, SvcdError } from "../common/errors.js";
import { GC } from "../common/labels.js";
import { debug } from "../common/debug.js";
import type { Descriptor } from "./manifest.js";

export interface UnpackOptions {
  snapshotter: string;
  /** The image's layers, bottom first, and their uncompressed digests (config rootfs.diff_ids). */
  layers: readonly Descriptor[];
  diffIds: readonly string[];
  chainIds: readonly string[];
  /** Labels for the transient extract snapshots (ownership, so a reaper can find leftovers). */
  labels?: Record<string, string>;
  /** Resolves once layer `i`'s blob is in the content store (layers download concurrently). */
  ready: (i: number) => Promise<void>;
  /** The image name, for errors. */
  ref: string;
  signal?: AbortSignal;
}

/** True when a committed snapshot with this name exists. */
export async function snapshotExists(client: ContainerdClient, snapshotter: string, key: string, signal?: AbortSignal): Promise<boolean> {
  try {
    await client.snapshots.stat({ snapshotter, key }, { signal });
    return true;
  } catch (err) {
    if (SvcdError.is(err) && err.code === "NOT_FOUND") return false;
    throw err;
  }
}

/** Applies every missing layer; returns how many were applied (0 when the whole chain existed). */
export async function unpackLayers(client: ContainerdClient, opts: UnpackOptions): Promise<number> {
  const log = debug("image");
  const { snapshotter, layers, diffIds, chainIds, signal } = opts;
  let applied = 0;
  // Find the highest existing snapshot first: everything below it exists too.
  let start = chainIds.length;
  while (start > 0 && !(await snapshotExists(client, snapshotter, chainIds[start - 1]!, signal))) start--;
  for (let i = start; i < layers.length; i++) {
    const layer = layers[i]!;
    const chainId = chainIds[i]!;
    const parent = i === 0 ? "" : chainIds[i - 1]!;
    await opts.ready(i);
    const key = `extract-${nanoid(12)} ${chainId}`;
    const { mounts } = await client.snapshots.prepare({ snapshotter, key, parent, labels: { ...opts.labels } }, { signal });
    try {
      const res = await client.diff.apply(
        { diff: { media_type: layer.mediaType, digest: layer.digest, size: layer.size, annotations: layer.annotations ?? {} }, mounts },
        { signal },
      );
      if (res.applied?.digest !== diffIds[i]) {
        throw new ImageError(
          "DIGEST_MISMATCH",
          opts.ref,
          `image ${opts.ref}: layer ${layer.digest} unpacked to ${res.applied?.digest ?? "nothing"}, but the config says ${diffIds[i]}`,
        );
      }
      try {
        await client.snapshots.commit({ snapshotter, name: chainId, key }, { signal });
      } catch (err) {
        // Another puller committed the same layer first: theirs is identical.
        if (!(SvcdError.is(err) && err.code === "ALREADY_EXISTS")) throw err;
        await client.snapshots.remove({ snapshotter, key }).catch(() => {});
      }
    } catch (err) {
      await client.snapshots.remove({ snapshotter, key }).catch(() => {});
      throw err;
    }
    await client.content.update(
      { info: { digest: layer.digest, labels: { [GC.uncompressed]: diffIds[i]! } }, update_mask: { paths: [`labels.${GC.uncompressed}`] } },
      { signal },
    );
    applied++;
    log("unpacked %s → %s (%s)", layer.digest, chainId, snapshotter);
  }
  return applied;
}
