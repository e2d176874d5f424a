// The containerd the integration tests talk to. CONTAINERD_ADDRESS wins; otherwise the rig starts a private
// containerd for the run (root, state and socket under a temp dir, CRI disabled) and tears it down afterwards.
import { spawnSync, type ChildProcess } from "node:child_process";
import { createWriteStream, readdirSync, readFileSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EngineUnavailableError, TimeoutError, throwIfAborted } from "../../src/common/errors.js";
import { HostProcessRunner, type ProcessRunner } from "../../src/common/process-runner.js";
import { onProcessEnd } from "./process-end.js";
import { Paths } from "../../src/common/paths.js";
import { ensureRootlessContainerd, resolveContainerd } from "../../src/rootless/index.js";

/** A containerd the tests may use; `stop()` is a no-op for one the rig did not start. */
export interface TestContainerd {
  /** Socket path (what CONTAINERD_ADDRESS holds). */
  address: string;
  /** True when the rig started it (and stop() will tear it down). */
  managed: boolean;
  stop(): Promise<void>;
}

export interface EnsureContainerdOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  signal?: AbortSignal;
  runner?: ProcessRunner;
}

/**
 * The containerd for a test run, chosen exactly as connect() chooses it (src/rootless): $CONTAINERD_ADDRESS, else the
 * system containerd when it answers, else svcd's managed containerd (started now if needed). A managed containerd is
 * left running for the next process, as connect() leaves it, so stop() never stops it.
 */
export async function ensureContainerdForTests(options: EnsureContainerdOptions = {}): Promise<TestContainerd> {
  const env = options.env ?? process.env;
  const uid = process.getuid?.() ?? 0;
  if (uid !== 0) {
    // Not root: the user's own rootless containerd, as connect() picks it.
    const own = await ensureRootlessContainerd({ paths: Paths.fromEnv(env, uid), uid, env, signal: options.signal, startTimeoutMs: options.timeoutMs });
    return { address: own.address, managed: own.started, stop: async () => {} };
  }
  const endpoint = await resolveContainerd({
    paths: Paths.fromEnv(env),
    runner: options.runner ?? new HostProcessRunner(),
    env,
    signal: options.signal,
    startTimeoutMs: options.timeoutMs,
  });
  return { address: endpoint.address, managed: endpoint.started, stop: async () => {} };
}

/** Starts `containerd --config <tmp>/config.toml` with everything under one temp dir; waits for its socket. */
export async function startPrivateContainerd(options: EnsureContainerdOptions = {}): Promise<TestContainerd> {
  throwIfAborted(options.signal);
  const runner = options.runner ?? new HostProcessRunner();
  const dir = await mkdtemp(join(tmpdir(), "svcd-ctd-"));
  const address = join(dir, "containerd.sock");
  const config = [
    "version = 2",
    `root = ${JSON.stringify(join(dir, "root"))}`,
    `state = ${JSON.stringify(join(dir, "state"))}`,
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    "[grpc]",
    `  address = ${JSON.stringify(address)}`,
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${JSON.stringify(join(dir, "opt"))}`,
    "",
  ].join("\n");
  await mkdir(join(dir, "root"), { recursive: true });
  await writeFile(join(dir, "config.toml"), config);
  const logPath = join(dir, "containerd.log");
  const log = createWriteStream(logPath);
  const child = runner.spawn("containerd", ["--config", join(dir, "config.toml")], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const unregister = onProcessEnd(() => {
    child.kill("SIGKILL");
    cleanupDir(dir, address);
  });
  try {
    await waitForSocket(address, child, options.timeoutMs ?? 20_000, options.signal);
  } catch (err) {
    unregister();
    await stopContainerd(child);
    const tail = (await readFile(logPath, "utf8").catch(() => "")).trim().split("\n").slice(-20).join("\n");
    cleanupDir(dir, address);
    throw new EngineUnavailableError(`private containerd did not start (apt-get install containerd runc): ${tail}`, { cause: err });
  }
  let stopped: Promise<void> | undefined;
  return {
    address,
    managed: true,
    stop() {
      stopped ??= (async () => {
        unregister();
        await stopContainerd(child);
        cleanupDir(dir, address);
      })();
      return stopped;
    },
  };
}

/** Resolves once a unix socket accepts a connection; fails when `child` exits first or the deadline passes. */
async function waitForSocket(path: string, child: ChildProcess | undefined, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitInfo: string | undefined;
  let spawnError: Error | undefined;
  child?.once("exit", (code, sig) => (exitInfo = `exited (${sig ?? code})`));
  child?.once("error", (err) => (spawnError = err));
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    throwIfAborted(signal);
    if (spawnError) throw new EngineUnavailableError(`could not run containerd: ${spawnError.message}`, { cause: spawnError });
    if (exitInfo) throw new EngineUnavailableError(`containerd ${exitInfo} before serving ${path}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(path);
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new TimeoutError(`${path} did not accept connections within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

async function stopContainerd(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

// Shims outlive containerd and keep their containers' rootfs mounted: end the ones this containerd started (they
// carry its socket in their argv), unmount what is left under the dir, then remove it. Synchronous, so that it can
// run from an exit or signal handler too.
function cleanupDir(dir: string, address: string): void {
  for (const entry of readdirSafe("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = readSafe(`/proc/${entry}/cmdline`).split("\0");
    if (argv[0]?.includes("containerd-shim") && argv.includes(address)) {
      try {
        process.kill(Number(entry), "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  const mounts = readSafe("/proc/self/mountinfo")
    .split("\n")
    .map((line) => line.split(" ")[4] ?? "")
    .filter((point) => point === dir || point.startsWith(dir + "/"))
    .sort((a, b) => b.length - a.length);
  for (const point of mounts) spawnSync("umount", ["-l", point], { stdio: "ignore" });
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    process.stderr.write(`test rig: could not remove ${dir}: ${String(err)}\n`);
  }
}

function readdirSafe(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function readSafe(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
