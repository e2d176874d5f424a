// A throwaway OCI registry for tests: Debian's docker-registry on a free 127.0.0.1 port, with the test images
// (built by scripts/test-images.sh) pushed into it. Tests pull through it as a `docker.io` mirror.
import type { ChildProcess } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EngineUnavailableError, InternalError, TimeoutError, throwIfAborted } from "../../src/common/errors.js";
import { HostProcessRunner, runChecked, type ProcessRunner } from "../../src/common/process-runner.js";
import { onProcessEnd } from "./process-end.js";

export const REGISTRY_BINARY = "/usr/bin/docker-registry";

/** The images scripts/test-images.sh builds, by the name they get in the registry (`mariadb-client`: the `mariadb` CLI). */
export const TEST_IMAGES = ["busybox", "python", "mariadb-client"] as const;
export type TestImage = (typeof TEST_IMAGES)[number];

export interface StartRegistryOptions {
  /** Storage root; a fresh temp dir (removed on stop) when omitted. */
  dataDir?: string;
  /** How long to wait for `/v2/` to answer. */
  timeoutMs?: number;
  signal?: AbortSignal;
  runner?: ProcessRunner;
}

/** A running registry. `url` is `http://127.0.0.1:<port>`. */
export interface RunningRegistry {
  url: string;
  /** `127.0.0.1:<port>`, the form image references and skopeo use. */
  host: string;
  port: number;
  stop(): Promise<void>;
}

/** Where the current set of test image layouts lives (scripts/test-images.sh keeps `current` pointing at it). */
export function testImagesDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.SVCD_IMAGE_CACHE || "/var/cache/svcd/images", "current");
}

/** A port the kernel says is free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new InternalError("no port"))));
    });
  });
}

function registryConfig(dataDir: string, port: number): string {
  // YAML; JSON is valid YAML, which spares a YAML writer.
  return JSON.stringify({
    version: 0.1,
    log: { level: "error", accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: dataDir }, delete: { enabled: true } },
    http: { addr: `127.0.0.1:${port}` },
  });
}

/** Starts docker-registry and resolves once `GET /v2/` answers 200. Killed on stop() and when this process exits. */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<RunningRegistry> {
  throwIfAborted(options.signal);
  if (!existsSync(REGISTRY_BINARY)) {
    throw new EngineUnavailableError(`${REGISTRY_BINARY} is missing: apt-get install docker-registry (or run scripts/setup.sh)`);
  }
  const runner = options.runner ?? new HostProcessRunner();
  const workDir = await mkdtemp(join(tmpdir(), "svcd-registry-"));
  const dataDir = options.dataDir ?? join(workDir, "data");
  // Another process may take the port between freePort() and the registry's bind: try a few fresh ports.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const configPath = join(workDir, "config.yml");
    await writeFile(configPath, registryConfig(dataDir, port));
    const child = runner.spawn(REGISTRY_BINARY, ["serve", configPath], { stdio: ["ignore", "pipe", "pipe"] });
    const output: string[] = [];
    child.stdout?.on("data", (b: Buffer) => output.push(b.toString()));
    child.stderr?.on("data", (b: Buffer) => output.push(b.toString()));
    const unregister = onProcessEnd(() => {
      child.kill("SIGKILL");
      rmSync(workDir, { recursive: true, force: true });
    });
    try {
      await waitForRegistry(child, `http://127.0.0.1:${port}`, options.timeoutMs ?? 15_000, options.signal, output);
    } catch (err) {
      unregister();
      await stopChild(child);
      lastError = err;
      if (/address already in use/.test(output.join(""))) continue;
      await rm(workDir, { recursive: true, force: true });
      throw err;
    }
    let stopped: Promise<void> | undefined;
    return {
      url: `http://127.0.0.1:${port}`,
      host: `127.0.0.1:${port}`,
      port,
      stop() {
        stopped ??= (async () => {
          unregister();
          await stopChild(child);
          await rm(workDir, { recursive: true, force: true });
        })();
        return stopped;
      },
    };
  }
  await rm(workDir, { recursive: true, force: true });
  throw new EngineUnavailableError("docker-registry could not bind a free port", { cause: lastError });
}

async function waitForRegistry(
  child: ChildProcess,
  url: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  output: string[],
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.once("exit", () => (exited = true));
  const spawnError = new Promise<never>((_, reject) =>
    child.once("error", (err) => reject(new EngineUnavailableError(`could not start ${REGISTRY_BINARY}: ${err.message}`, { cause: err }))),
  );
  spawnError.catch(() => {});
  for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
    throwIfAborted(signal);
    if (exited) throw new EngineUnavailableError(`docker-registry exited before serving: ${output.join("").trim().slice(-2000)}`);
    try {
      const res = await Promise.race([fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) }), spawnError]);
      await res.body?.cancel();
      if (res.status === 200) return;
    } catch (err) {
      if (err instanceof EngineUnavailableError) throw err;
      // not listening yet
    }
    if (Date.now() > deadline) throw new TimeoutError(`docker-registry did not answer ${url}/v2/ within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

export interface PushOptions {
  /** Which images; all of TEST_IMAGES when omitted. */
  images?: readonly TestImage[];
  /** Directory holding `<name>/` OCI layouts; testImagesDir() when omitted. */
  layoutsDir?: string;
  signal?: AbortSignal;
  runner?: ProcessRunner;
}

/** Pushes the cached OCI layouts as `library/<name>:latest`; returns the references pushed (`127.0.0.1:<port>/library/busybox:latest`). */
export async function pushTestImages(url: string, options: PushOptions = {}): Promise<string[]> {
  const parsed = new URL(url);
  if (parsed.protocol !== "http:" || !["127.0.0.1", "localhost", "[::1]"].includes(parsed.hostname)) {
    throw new InternalError(`pushTestImages only pushes to a loopback http registry, not ${url}`);
  }
  const layouts = options.layoutsDir ?? testImagesDir();
  const runner = options.runner ?? new HostProcessRunner();
  const refs: string[] = [];
  for (const name of options.images ?? TEST_IMAGES) {
    const layout = join(layouts, name);
    try {
      JSON.parse(await readFile(join(layout, "index.json"), "utf8"));
    } catch (err) {
      throw new EngineUnavailableError(`test image ${name} is not built (${layout}): run scripts/test-images.sh`, { cause: err });
    }
    const ref = `${parsed.host}/library/${name}:latest`;
    await runChecked(
      runner,
      "skopeo",
      ["copy", "--quiet", "--insecure-policy", "--dest-tls-verify=false", "--dest-no-creds", `oci:${layout}:latest`, `docker://${ref}`],
      { signal: options.signal, timeoutMs: 300_000 },
    );
    refs.push(ref);
  }
  return refs;
}
