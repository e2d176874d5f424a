// The pieces every benchmark against the dev containerd sets up: a loopback registry with test images, private
// svcd state dirs, and a LIFO list of cleanups that runs on every exit path (also Ctrl-C).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rootless } from "./engine.mjs";
import { load, loadRig } from "./svcd.mjs";

/** Cleanups run in reverse order of registration; errors are reported, never stop the others. */
export class Cleanups {
  #fns = [];
  #signalHandler = () => void this.run().finally(() => process.exit(130));

  constructor() {
    process.once("SIGINT", this.#signalHandler);
    process.once("SIGTERM", this.#signalHandler);
  }

  push(name, fn) {
    this.#fns.push({ name, fn });
  }

  async run() {
    process.off("SIGINT", this.#signalHandler);
    process.off("SIGTERM", this.#signalHandler);
    while (this.#fns.length) {
      const { name, fn } = this.#fns.pop();
      try {
        await fn();
      } catch (err) {
        process.stderr.write(`cleanup ${name}: ${err?.message ?? err}\n`);
      }
    }
  }
}

/** Starts docker-registry on 127.0.0.1 and pushes `images` into it; registers its stop. */
export async function registryWith(cleanups, images) {
  const { startRegistry, pushTestImages } = await loadRig("registry");
  const registry = await startRegistry();
  cleanups.push("registry", () => registry.stop());
  await pushTestImages(registry.url, { images });
  return registry;
}

/**
 * Points svcd's state and runtime dirs (FIFOs, cache volumes) at a temp dir for this run; registers its removal.
 * Rootless: leaves them as they are (the user's own, or SVCD_STATE_DIR / SVCD_RUNTIME_DIR as given), because there
 * they are also where the user's containerd lives: a temp dir would start a fresh containerd per run and leave it.
 */
export async function privateSvcdDirs(cleanups) {
  if (rootless) return { state: process.env.SVCD_STATE_DIR, runtime: process.env.SVCD_RUNTIME_DIR };
  const dir = await mkdtemp(join(tmpdir(), "svcd-bench-"));
  process.env.SVCD_STATE_DIR = join(dir, "state");
  process.env.SVCD_RUNTIME_DIR = join(dir, "run");
  cleanups.push("svcd dirs", async () => {
    // A managed containerd the run started in these dirs goes with them (no-op when none runs there).
    const [{ stopManagedContainerd }, { Paths }] = await Promise.all([load("rootless/index.js"), load("common/paths.js")]);
    await stopManagedContainerd(new Paths({ state: join(dir, "state"), runtime: join(dir, "run") }));
    await rm(dir, { recursive: true, force: true });
  });
  return { state: process.env.SVCD_STATE_DIR, runtime: process.env.SVCD_RUNTIME_DIR };
}
