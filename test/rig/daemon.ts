// svcd daemons for tests: started as a child process on a private socket (never the default one, so embedded tests
// in auto mode are never captured), waited for on its "serving on" line (an event, no polling), stopped with SIGTERM
// or killed with SIGKILL by the crash tests.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const SVCD_ENTRY = join(repo, "src", "cli", "svcd.ts");

export interface TestDaemon {
  socket: string;
  pid: number;
  child: ChildProcess;
  /** Everything it printed on stderr so far. */
  stderr(): string;
  /** SIGTERM, then waits for the exit; resolves with its exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
}

export interface StartDaemonOptions {
  /** Default: a fresh socket in a private temp dir (outside the run's state and runtime dirs). */
  socket?: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** How long to wait for "serving on" (default 60 s: a cold managed containerd may have to start). */
  timeoutMs?: number;
}

/** A private socket path, in a 0700 temp dir of its own. */
export function privateSocket(prefix = "svcd-test-daemon-"): { socket: string; remove(): void } {
  const dir = mkdtempSync(join("/tmp", prefix));
  return { socket: join(dir, "svcd.sock"), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function startTestDaemon(opts: StartDaemonOptions = {}): Promise<TestDaemon> {
  const priv = opts.socket ? undefined : privateSocket();
  const socket = opts.socket ?? priv!.socket;
  const env = { ...(opts.env ?? process.env) };
  delete env.SVCD_SOCKET;
  const child = spawn(process.execPath, ["--expose-gc", "--max-semi-space-size=1", "--import", "tsx", SVCD_ENTRY, "--socket", socket, ...(opts.args ?? [])], { cwd: repo, env, stdio: ["ignore", "inherit", "pipe"] });
  let err = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    err += chunk;
    if (process.env.SVCD_TEST_DAEMON_LOG === "1") process.stderr.write(chunk);
  });
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  const ready = new Promise<void>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`svcd did not serve within ${opts.timeoutMs ?? 60_000} ms: ${err}`)), opts.timeoutMs ?? 60_000);
    const onData = () => {
      if (err.includes("serving on")) {
        clearTimeout(timer);
        child.stderr!.off("data", onData);
        resolveReady();
      }
    };
    child.stderr!.on("data", onData);
    void exited.then(([code, signal]) => {
      clearTimeout(timer);
      reject(new Error(`svcd exited (${signal ?? code}) before serving: ${err}`));
    });
  });
  try {
    await ready;
  } catch (e) {
    child.kill("SIGKILL");
    priv?.remove();
    throw e;
  }
  return {
    socket,
    pid: child.pid!,
    child,
    stderr: () => err,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const [code] = await exited;
      priv?.remove();
      return code;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
      priv?.remove();
    },
  };
}
