// Shared setup for runtime integration tests: the engine's client and runner (test/rig/engine.ts: root's, or the
// user engine's in the rootless pass) in a namespace of the test's own, the busybox test image
// (from scripts/test-images.sh's cache) imported with ctr, and leak checks through ctr — an independent view.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ContainerdClient } from "../../../src/containerd/index.js";
import { Paths } from "../../../src/common/paths.js";
import type { ProcessRunner } from "../../../src/common/process-runner.js";
import type { ContainerImage } from "../../../src/runtime/index.js";
import { engineAddress, engineClient, engineRunner } from "../../rig/engine.js";

export const address = engineAddress();
const imageCache = process.env.SVCD_IMAGE_CACHE || "/var/cache/svcd/images";

export function ctr(namespace: string, ...args: string[]): string {
  return execFileSync("ctr", ["--address", address, "-n", namespace, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Everything a test file needs; `close()` removes the image, checks the namespace is empty and removes it. */
export interface Fixture {
  namespace: string;
  client: ContainerdClient;
  paths: Paths;
  runner: ProcessRunner;
  image: ContainerImage;
  /** Container ids, task ids and active snapshot keys left in the namespace, and FIFO dirs left on disk. */
  leaks(): { containers: string[]; tasks: string[]; activeSnapshots: string[]; fifoDirs: string[] };
  close(): Promise<void>;
}

function blob(layout: string, digest: string): Buffer {
  return readFileSync(join(layout, "blobs", ...digest.split(":")));
}

/** Imports the cached busybox OCI layout into a fresh namespace and reads its chainId and config. */
export async function setup(name: string): Promise<Fixture> {
  const namespace = `svcd-dev-runtime-${name}-${process.pid}`;
  const layout = join(imageCache, "current", "busybox");
  const tmp = mkdtempSync(join(tmpdir(), "svcd-rt-"));
  const tar = join(tmp, "busybox.tar");
  execFileSync("tar", ["-C", layout, "-cf", tar, "."]);
  ctr(namespace, "images", "import", "--base-name", "docker.io/library/busybox", tar);
  const idx = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
  const manifest = JSON.parse(blob(layout, idx.manifests[0].digest).toString());
  const config = JSON.parse(blob(layout, manifest.config.digest).toString());
  let chainId = "";
  for (const diffId of config.rootfs.diff_ids as string[]) {
    chainId = chainId ? "sha256:" + createHash("sha256").update(`${chainId} ${diffId}`).digest("hex") : diffId;
  }
  const client = engineClient(namespace);
  const paths = new Paths({ state: join(tmp, "state"), runtime: join(tmp, "run") });
  const fifoRoot = join(paths.runtime, "fifo");
  return {
    namespace,
    client,
    paths,
    runner: engineRunner(),
    image: { name: "docker.io/library/busybox:latest", chainId, snapshotter: "overlayfs", config: config.config },
    leaks() {
      const lines = (s: string) => s.split("\n").map((l) => l.trim()).filter(Boolean);
      const snaps = lines(ctr(namespace, "snapshots", "ls")).slice(1).filter((l) => /\bActive\b/.test(l)).map((l) => l.split(/\s+/)[0] as string);
      let fifoDirs: string[] = [];
      try {
        fifoDirs = readdirSync(fifoRoot);
      } catch {
        fifoDirs = [];
      }
      return { containers: lines(ctr(namespace, "containers", "ls", "-q")), tasks: lines(ctr(namespace, "tasks", "ls", "-q")), activeSnapshots: snaps, fifoDirs };
    },
    async close() {
      client.close();
      try {
        for (const id of lines(ctr(namespace, "tasks", "ls", "-q"))) ctr(namespace, "tasks", "kill", "-s", "SIGKILL", "-a", id);
      } catch {
        // best effort
      }
      for (const c of lines(ctr(namespace, "containers", "ls", "-q"))) {
        try {
          ctr(namespace, "tasks", "rm", "-f", c);
        } catch {
          // no task
        }
        ctr(namespace, "containers", "rm", c);
      }
      for (const img of lines(ctr(namespace, "images", "ls", "-q"))) ctr(namespace, "images", "rm", "--sync", img);
      for (const s of lines(ctr(namespace, "snapshots", "ls")).slice(1)) {
        try {
          ctr(namespace, "snapshots", "rm", s.split(/\s+/)[0] as string);
        } catch {
          // removed with its parent
        }
      }
      try {
        ctr("default", "namespaces", "rm", namespace);
      } catch (err) {
        process.stderr.write(`fixture: could not remove namespace ${namespace}: ${String(err)}\n`);
      }
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

function lines(s: string): string[] {
  return s.split("\n").map((l) => l.trim()).filter(Boolean);
}

/** Awaits `p` and asserts it rejects with an svcd error of this code; returns the error. */
export async function rejectsWithCode(p: Promise<unknown>, code: string): Promise<Error & { code: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as Error & { code: string };
    if (e?.code !== code) throw new Error(`expected ${code}, got ${e?.code}: ${e?.message}`, { cause: err });
    return e;
  }
  throw new Error(`expected a rejection with ${code}, but it resolved`);
}
