// The one way the engine spawns helper processes (CNI plugins, nsenter, mkfifo, the forward agent, containerd).
// As root it runs them as they are; rootless mode supplies a runner that enters the engine's user and mount
// namespaces first, so no caller has to know which mode it is in. Arguments go straight to execve: never a shell.
import { spawn, type ChildProcess, type SpawnOptions, type StdioOptions } from "node:child_process";
import { CancelledError, EngineUnavailableError, InternalError } from "./errors.js";

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to the process's stdin, then closed. */
  input?: string | Buffer;
  signal?: AbortSignal;
  /** Kill the process (SIGKILL) after this long. */
  timeoutMs?: number;
}

export interface RunResult {
  exitCode: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface SpawnHelperOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  stdio?: StdioOptions;
  detached?: boolean;
}

export interface ProcessRunner {
  /** What the runner does to commands ("host", "rootless"), for debug lines and errors. */
  readonly kind: string;
  /** Start a long-lived helper. */
  spawn(file: string, args: readonly string[], options?: SpawnHelperOptions): ChildProcess;
  /** Run a short helper to completion and collect its output; never throws for a non-zero exit. */
  run(file: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
}

/** Runs helpers in the caller's own namespaces: the identity, used when the engine runs as root. */
export class HostProcessRunner implements ProcessRunner {
  readonly kind = "host";

  spawn(file: string, args: readonly string[], options: SpawnHelperOptions = {}): ChildProcess {
    const opts: SpawnOptions = { env: options.env ?? process.env, stdio: options.stdio ?? "ignore" };
    if (options.cwd !== undefined) opts.cwd = options.cwd;
    if (options.detached !== undefined) opts.detached = options.detached;
    return spawn(file, [...args], opts);
  }

  run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    return runChild(this.spawn(file, args, { env: options.env, cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"] }), file, options);
  }
}

/** Collects a spawned child's output and exit; shared by every runner. */
export function runChild(child: ChildProcess, file: string, options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => child.kill("SIGKILL");
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      fn();
    };
    child.stdout?.on("data", (b: Buffer) => stdout.push(b));
    child.stderr?.on("data", (b: Buffer) => stderr.push(b));
    child.on("error", (err: NodeJS.ErrnoException) =>
      finish(() =>
        reject(
          err.code === "ENOENT"
            ? new EngineUnavailableError(`helper ${file} is not installed (${err.message})`, { cause: err })
            : new InternalError(`could not run ${file}: ${err.message}`, { cause: err }),
        ),
      ),
    );
    child.on("close", (code, signal) =>
      finish(() => {
        if (options.signal?.aborted) {
          reject(new CancelledError(`${file} cancelled`, { cause: options.signal.reason }));
          return;
        }
        resolve({
          exitCode: code ?? -1,
          signal,
          stdout: Buffer.concat(stdout).toString("utf8"),
          stderr: Buffer.concat(stderr).toString("utf8"),
        });
      }),
    );
    if (options.signal) {
      if (options.signal.aborted) onAbort();
      else options.signal.addEventListener("abort", onAbort, { once: true });
    }
    if (options.timeoutMs !== undefined) timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
    if (child.stdin) {
      child.stdin.on("error", () => {}); // the helper may exit before reading its input
      child.stdin.end(options.input ?? "");
    }
  });
}

/** Runs a helper and throws an error naming it, with its stderr, when it exits non-zero. */
export async function runChecked(runner: ProcessRunner, file: string, args: readonly string[], options?: RunOptions): Promise<RunResult> {
  const result = await runner.run(file, args, options);
  if (result.exitCode !== 0) {
    throw new InternalError(`${file} ${args.join(" ")} failed (exit ${result.exitCode}): ${result.stderr.trim() || result.stdout.trim()}`);
  }
  return result;
}
