// Which containerd the engine talks to: the caller's, the environment's, the system's, or svcd's managed one.
import { InvalidArgumentError, EngineUnavailableError, throwIfAborted } from "../common/errors.js";
import { debug } from "../common/debug.js";
import { Paths } from "../common/paths.js";
import type { ProcessRunner } from "../common/process-runner.js";
import { answers, clientProbe, socketPath, type ContainerdProbe } from "./containerd-probe.js";
import { ensureManagedContainerd } from "./managed-containerd.js";

const log = debug("rootless");

/** Where the distribution's containerd listens. */
export const SYSTEM_CONTAINERD_ADDRESS = "/run/containerd/containerd.sock";

export interface ContainerdEndpointOptions {
  /** An explicit socket (connect()'s `containerd` option): used as-is and must answer. */
  address?: string;
  paths: Paths;
  /** Spawns containerd (and flock, version checks); rootless mode passes its own. */
  runner: ProcessRunner;
  signal?: AbortSignal;
  /** Answers whether a containerd serves a socket. Default: a Version call through ContainerdClient. */
  probe?: ContainerdProbe;
  /** Read for CONTAINERD_ADDRESS; also the environment (PATH) of the helpers and containerd. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** The system containerd's socket, tried before starting a managed one; null skips it. */
  systemAddress?: string | null;
  /** How long a started containerd may take to serve (default 10 s). */
  startTimeoutMs?: number;
}

/** Where the chosen containerd came from. */
export type ContainerdSource = "explicit" | "env" | "system" | "managed";

/** The containerd the engine should use. */
export interface ContainerdEndpoint {
  address: string;
  /** True for svcd's own containerd (started now or earlier). */
  managed: boolean;
  source: ContainerdSource;
  /** True when this call started the managed containerd. */
  started: boolean;
  /** The managed containerd's pid, when known. */
  pid?: number;
}

/** Picks the containerd to use: explicit → CONTAINERD_ADDRESS → system socket → managed (started if needed). */
export async function resolveContainerd(opts: ContainerdEndpointOptions): Promise<ContainerdEndpoint> {
  if (!opts || !(opts.paths instanceof Paths)) throw new InvalidArgumentError("resolveContainerd needs `paths` (a Paths)");
  if (!opts.runner || typeof opts.runner.spawn !== "function") throw new InvalidArgumentError("resolveContainerd needs a `runner`");
  const { signal } = opts;
  throwIfAborted(signal);
  const env = opts.env ?? process.env;
  const probe = opts.probe ?? clientProbe();

  const required = async (address: string, source: "explicit" | "env", what: string): Promise<ContainerdEndpoint> => {
    checkAddress(address, what);
    if (await answers(address, probe, signal)) return { address, managed: false, source, started: false };
    throw new EngineUnavailableError(
      `no containerd answers on ${address} (${what}); start it (systemctl start containerd) or leave it unset ` +
        `so svcd uses the system containerd or starts its own`,
    );
  };
  if (opts.address !== undefined) return required(opts.address, "explicit", "the `containerd` option");
  const fromEnv = env.CONTAINERD_ADDRESS;
  if (fromEnv) return required(fromEnv, "env", "CONTAINERD_ADDRESS");

  const system = opts.systemAddress === undefined ? SYSTEM_CONTAINERD_ADDRESS : opts.systemAddress;
  if (system !== null && (await answers(system, probe, signal))) {
    log("using the system containerd at %s", system);
    return { address: system, managed: false, source: "system", started: false };
  }
  const managed = await ensureManagedContainerd({
    paths: opts.paths,
    runner: opts.runner,
    probe,
    env,
    signal,
    startTimeoutMs: opts.startTimeoutMs,
  });
  log("using the managed containerd at %s (pid %s, started %s)", managed.address, managed.pid, managed.started);
  const result: ContainerdEndpoint = { address: managed.address, managed: true, source: "managed", started: managed.started };
  if (managed.pid !== undefined) result.pid = managed.pid;
  return result;
}

/** Rejects addresses that cannot name a unix socket. */
function checkAddress(address: string, what: string): void {
  if (typeof address !== "string" || !socketPath(address).startsWith("/") || address.includes("\0")) {
    throw new InvalidArgumentError(`${what} must be an absolute unix socket path, got ${JSON.stringify(address)}`);
  }
}

/**
 * The containerd sockets an engine of this user may be using, without starting anything: CONTAINERD_ADDRESS, the
 * system's and the managed one as root; the user's own rootless one otherwise. Only those that answer (svc ps
 * and svc stop read every engine's services from them).
 */
export async function runningContainerdAddresses(opts: { paths: Paths; env?: NodeJS.ProcessEnv; root: boolean; probe?: ContainerdProbe }): Promise<string[]> {
  const env = opts.env ?? process.env;
  const probe = opts.probe ?? clientProbe();
  const fromEnv = env.CONTAINERD_ADDRESS ? socketPath(env.CONTAINERD_ADDRESS) : undefined;
  const candidates = opts.root ? [fromEnv, SYSTEM_CONTAINERD_ADDRESS, opts.paths.containerdSocket] : [opts.paths.containerdSocket];
  const unique = [...new Set(candidates.filter((a): a is string => !!a))];
  const answering = await Promise.all(unique.map(async (a) => ((await answers(a, probe)) ? a : undefined)));
  return answering.filter((a): a is string => a !== undefined);
}
