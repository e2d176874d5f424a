// Resolves image references for one engine: each reference is pulled (or found) once per session, so every
// evaluation in the session sees the same image and a cached chain needs no registry round trip.
import type { ContainerdClient } from "../containerd/index.js";
import type { ProcessRunner } from "../common/process-runner.js";
import { getImage, pullImage, type PulledImage, type RegistryMirrors } from "../image/index.js";
import { SvcdError } from "../common/errors.js";
import { debug } from "../common/debug.js";

const log = debug("image");
import type { ProgressEvent } from "../definition/index.js";

export interface ImageResolverOptions {
  client: ContainerdClient;
  runner: ProcessRunner;
  mirrors?: RegistryMirrors | undefined;
  snapshotter: string;
  labels: Record<string, string>;
  onProgress?: ((event: ProgressEvent) => void) | undefined;
}

export class ImageResolver {
  readonly #opts: ImageResolverOptions;
  readonly #images = new Map<string, Promise<PulledImage>>();

  constructor(opts: ImageResolverOptions) {
    this.#opts = opts;
  }

  resolve(ref: string, signal?: AbortSignal): Promise<PulledImage> {
    let image = this.#images.get(ref);
    if (!image) {
      const { client, runner, mirrors, snapshotter, labels, onProgress } = this.#opts;
      image = pullImage(client, ref, {
        runner,
        ...(mirrors ? { mirrors } : {}),
        snapshotter,
        labels,
        ...(onProgress ? { onProgress } : {}),
        ...(signal ? { signal } : {}),
      }).catch(async (err: unknown) => {
        // An unreachable registry is no reason to fail when the image was pulled before: use what containerd has.
        if (!(SvcdError.is(err) && err.code === "UNAVAILABLE")) throw err;
        const local = await getImage(client, ref, { snapshotter, ...(signal ? { signal } : {}) }).catch(() => undefined);
        if (!local) throw err;
        log("%s: registry unavailable, using the image already in containerd (%s)", ref, local.manifestDigest);
        return local;
      }).then((pulled) => {
        onProgress?.({ type: "pulled", ref: pulled.name, digest: pulled.manifestDigest });
        return pulled;
      });
      this.#images.set(ref, image);
      // A failed or cancelled pull is not remembered: the next call tries again.
      image.catch(() => this.#images.delete(ref));
    }
    return image;
  }
}
