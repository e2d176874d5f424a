// An image pulled earlier, read from containerd alone (no registry): for callers that already pulled.
import type { ContainerdClient } from "../containerd/index.js";
import { ImageError } from "../common/errors.js";
import { getImageTarget, loadImage, type PulledImage } from "./image-store.js";
import type { Platform } from "./platform.js";
import { checkSnapshotter, platformOption } from "./pull.js";
import { parseReference } from "./reference.js";

export interface GetImageOptions {
  snapshotter?: string;
  platform?: string | Platform;
  signal?: AbortSignal;
}

/** The stored image named by `ref` (normalised); ImageError NOT_FOUND when there is no image record. */
export async function getImage(client: ContainerdClient, ref: string, opts: GetImageOptions = {}): Promise<PulledImage> {
  const name = parseReference(ref).toString();
  const target = await getImageTarget(client, name, opts.signal);
  if (!target) throw new ImageError("NOT_FOUND", name, `image ${name} has not been pulled`);
  return loadImage(client, name, target, {
    platform: platformOption(opts.platform),
    snapshotter: checkSnapshotter(opts.snapshotter ?? "overlayfs"),
    signal: opts.signal,
  });
}
