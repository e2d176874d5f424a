// The one way the engine spawns helper processes (CNI plugins, nsenter, mkfifo, the forward agent, containerd).
// As root it runs them as they are; rootless mode supplies a runner that enters the engine's user and mount
// namespaces first, so no caller has to know which mode it is in. Arguments go straight to execve: never a shell.
import { spawn, type ChildProcess, type SpawnOptions, type StdioOptions } from "node:child_process";
import { CancelledError, EngineUnavailableError, InternalError, InvalidArgumentError } from "./errors.js";

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to the process's stdin, then closed. */
  input?: string | Buffer;
  signal?: AbortSignal;
  /** Kill the process (SIGKILL) after this long. */
  timeoutMs?: number;
  /**
   * Cap on what is collected of each stream (default 1 MiB): a helper printing more on stdout (its answer) is killed
   * and the run fails; of stderr (diagnostics) the head and the tail are kept.
   */
  maxOutputBytes?: number;
}

/** Default cap of a helper's stdout and of its stderr. */
export const DEFAULT_HELPER_OUTPUT_BYTES = 1024 * 1024;

/** Keeps the first and last `cap / 2` bytes of a stream, and counts what it dropped between them. */
export class HeadTailBuffer {
  private readonly half: number;
  private head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  /** Bytes seen in total. */
  total = 0;

  constructor(readonly cap: number) {
    if (!Number.isSafeInteger(cap) || cap < 2) throw new InvalidArgumentError(`output cap must be an integer of at least 2 bytes, got ${String(cap)}`);
    this.half = Math.floor(cap / 2);
  }

  push(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.headBytes < this.half) {
      const take = chunk.subarray(0, this.half - this.headBytes);
      this.head.push(take);
      this.headBytes += take.length;
      chunk = chunk.subarray(take.length);
    }
    if (chunk.length === 0) return;
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    // Drop whole chunks from the front while the rest still fills the tail's half.
    while (this.tail.length > 1 && this.tailBytes - this.tail[0]!.length >= this.half) this.tailBytes -= this.tail.shift()!.length;
  }

  /** True once bytes were dropped. */
  get truncated(): boolean {
    return this.total > this.headBytes + Math.min(this.tailBytes, this.half);
  }

  /** The kept bytes as text, with a marker where the middle was dropped. */
  text(): string {
    const tail = Buffer.concat(this.tail);
    const kept = tail.subarray(Math.max(0, tail.length - this.half));
    const head = Buffer.concat(this.head).toString("utf8");
    if (!this.truncated) return head + kept.toString("utf8");
    const dropped = this.total - this.headBytes - kept.length;
    return `${head}\n[… ${dropped} bytes dropped …]\n${kept.toString("utf8")}`;
  }
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
  /**
   * True when helpers run inside the engine's own user namespace (rootless mode): the container runtime then has no
   * cgroups to set on a cgroup v1 host, and data written by containers belongs to sub-uids only helpers can touch.
   */
  readonly userNamespace?: boolean;
  /** Start a long-lived helper. */
  spawn(file: string, args: readonly string[], options?: SpawnHelperOptions): ChildProcess;
  /** Run a short helper to completion and collect its output; never throws for a non-zero exit. */
  run(file: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /**
   * The path through which this process reaches `path` as the helpers see it (their mount namespace), for reads
   * that need no helper: the path itself when they share this process's, /proc/<pid>/root<path> when not.
   */
  helperView?(path: string): string;
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
  const cap = options.maxOutputBytes ?? DEFAULT_HELPER_OUTPUT_BYTES;
  if (!Number.isSafeInteger(cap) || cap < 2) {
    child.kill("SIGKILL"); // already spawned: leave nothing running
    return Promise.reject(new InvalidArgumentError(`maxOutputBytes must be an integer of at least 2, got ${String(cap)}`));
  }
  return new Promise((resolve, reject) => {
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let overflow = false;
    const stderr = new HeadTailBuffer(cap);
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
    child.stdout?.on("data", (b: Buffer) => {
      if (overflow) return;
      stdoutBytes += b.length;
      if (stdoutBytes > cap) {
        // An answer this large is a misbehaving helper: stop it rather than grow the engine's memory.
        overflow = true;
        stdout.length = 0;
        child.kill("SIGKILL");
        return;
      }
      stdout.push(b);
    });
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
        if (overflow) {
          reject(new InternalError(`helper ${file} wrote more than ${cap} bytes to stdout and was stopped: ${stderr.text().trim().slice(-2000)}`));
          return;
        }
        resolve({
          exitCode: code ?? -1,
          signal,
          stdout: Buffer.concat(stdout).toString("utf8"),
          stderr: stderr.text(),
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
