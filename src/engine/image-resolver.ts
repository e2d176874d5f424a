// Resolves image references for one engine: each reference is pulled (or found) once per session, so every
// evaluation in the session sees the same image and a cached chain needs no registry round trip. A pull is shared:
// a caller's abort ends only its own wait, and the pull is cancelled only once no caller waits for it.
import type { ContainerdClient } from "../containerd/index.js";
import type { ProcessRunner } from "../common/process-runner.js";
import { getImage, pullImage, type PulledImage, type RegistryMirrors } from "../image/index.js";
import { SvcdError } from "../common/errors.js";
import { debug } from "../common/debug.js";
import { SingleFlight } from "../common/single-flight.js";

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
  /** Successful pulls are remembered for the session; a failed or cancelled one is tried again by the next call. */
  readonly #images = new SingleFlight<string, PulledImage>({ remember: true, what: "image pull" });

  constructor(opts: ImageResolverOptions) {
    this.#opts = opts;
  }

  resolve(ref: string, signal?: AbortSignal): Promise<PulledImage> {
    return this.#images.run(ref, (shared) => this.#pull(ref, shared), signal);
  }

  /** Resolves once no pull is under way (cancelled ones included). */
  drain(): Promise<void> {
    return this.#images.drain();
  }

  async #pull(ref: string, signal: AbortSignal): Promise<PulledImage> {
    const { client, runner, mirrors, snapshotter, labels, onProgress } = this.#opts;
    let pulled: PulledImage;
    try {
      pulled = await pullImage(client, ref, { runner, ...(mirrors ? { mirrors } : {}), snapshotter, labels, ...(onProgress ? { onProgress } : {}), signal });
    } catch (err) {
      // An unreachable registry is no reason to fail when the image was pulled before: use what containerd has.
      if (!(SvcdError.is(err) && err.code === "UNAVAILABLE")) throw err;
      const local = await getImage(client, ref, { snapshotter, signal }).catch(() => undefined);
      if (!local) throw err;
      log("%s: registry unavailable, using the image already in containerd (%s)", ref, local.manifestDigest);
      pulled = local;
    }
    onProgress?.({ type: "pulled", ref: pulled.name, digest: pulled.manifestDigest });
    return pulled;
  }
}
