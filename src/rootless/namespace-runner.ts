// The rootless engine's one way into its namespaces: every helper (unshare, nsenter --net, CNI plugins, nft, mount,
// cp of sub-uid-owned data, the forward agent, slirp4netns) runs through `nsenter -U -m -t <supervisor>`, so it acts
// as the user namespace's root in the mount namespace where containerd, the netns bind mounts and /run/containerd
// live. --preserve-credentials keeps the caller's uid and groups: mapped to 0 inside, it holds every capability of
// that user namespace and none outside it. A few helpers that touch only the user's own files run on the host as
// they are (one process instead of two).
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { EngineUnavailableError } from "../common/errors.js";
import { findOnPath } from "./prerequisites.js";
import { HostProcessRunner, runChild, type ProcessRunner, type RunOptions, type RunResult, type SpawnHelperOptions } from "../common/process-runner.js";

/** Helpers that need nothing of the namespaces: flock on the user's lock files, mkfifo in the user's runtime dir. */
const HOST_SIDE: ReadonlySet<string> = new Set(["flock", "mkfifo"]);

/** The process whose namespaces helpers join: the supervisor (rootlesskit's child), alive. */
export type NamespaceHolder = () => number;

export class NamespaceRunner implements ProcessRunner {
  readonly kind = "rootless";
  readonly userNamespace = true;
  readonly #host: ProcessRunner;
  readonly #holder: NamespaceHolder;

  /** `holder` returns the pid to enter, or throws EngineUnavailableError once the namespaces are gone. */
  constructor(holder: NamespaceHolder, host: ProcessRunner = new HostProcessRunner()) {
    this.#holder = holder;
    this.#host = host;
  }

  /**
   * The nsenter argv that runs `file args` inside the namespaces (cwd resolved inside, where it is the same path).
   * A helper that is itself `nsenter --net=<file> [--] cmd …` (CNI plugins, nft and ip in a netns) becomes one
   * nsenter, not two: nsenter opens the --net file before it enters any namespace, so the file — a bind mount that
   * exists only in the supervisor's mount namespace — is named through /proc/<pid>/root, that namespace's `/`.
   */
  wrap(file: string, args: readonly string[], cwd?: string): string[] {
    const pid = this.#pid();
    const enter = ["--preserve-credentials", "-U", "-m", "-t", String(pid)];
    const net = file === "nsenter" ? netnsHelper(args) : undefined;
    if (net) return [...enter, `--net=/proc/${pid}/root${net.path}`, `--wd=${cwd ?? "/"}`, "--", ...net.command];
    return [...enter, `--wd=${cwd ?? "/"}`, "--", file, ...args];
  }

  /** `path` in the supervisor's mount namespace, reached from this one through /proc/<pid>/root. */
  helperView(path: string): string {
    return `/proc/${this.#pid()}/root${path}`;
  }

  /** The namespace holder's pid; EngineUnavailableError when no live process holds them. */
  #pid(): number {
    const pid = this.#holder();
    if (!Number.isSafeInteger(pid) || pid <= 1) throw new EngineUnavailableError(`the rootless engine's namespaces are not held by a live process (pid ${pid})`);
    return pid;
  }

  spawn(file: string, args: readonly string[], options: SpawnHelperOptions = {}): ChildProcess {
    // A helper that is not installed fails as it does on the host (the spawn's ENOENT, which callers turn into
    // "X is not installed: apt-get install …"), not as nsenter's exit 127. The mount namespace shares the host's
    // /usr, so the host's PATH lookup is the namespace's.
    if (HOST_SIDE.has(file) || !this.#installed(file, options.env)) return this.#host.spawn(file, args, options);
    return this.#host.spawn("nsenter", this.wrap(file, args, options.cwd), options);
  }

  readonly #found = new Set<string>();

  #installed(file: string, env: NodeJS.ProcessEnv | undefined): boolean {
    const path = (env ?? process.env).PATH ?? "";
    const key = `${path}\0${file}`;
    if (this.#found.has(key)) return true;
    const ok = file.includes("/") ? existsSync(file) : findOnPath(file, env ?? process.env) !== undefined;
    if (ok) this.#found.add(key);
    return ok;
  }

  run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    return runChild(this.spawn(file, args, { env: options.env, cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"] }), file, options);
  }
}

/** `--net=<absolute path> [--] cmd …` and nothing else: its netns file and command; undefined for any other nsenter. */
function netnsHelper(args: readonly string[]): { path: string; command: readonly string[] } | undefined {
  const m = /^--net=(\/.*)$/.exec(args[0] ?? "");
  if (!m) return undefined;
  const command = args[1] === "--" ? args.slice(2) : args.slice(1);
  if (command.length === 0 || command[0]!.startsWith("-")) return undefined;
  return { path: m[1]!, command };
}
