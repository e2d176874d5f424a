// svcd's own containerd, used when no other one answers: own config, root, state and socket (all from `Paths`),
// started once per machine under a supervisor (containerd-supervisor.ts) that restarts it when it dies, and left
// running for the next process.
//
// On-disk layout (all paths from `Paths`): containerdConfig (rewritten on every start), containerdPidFile (the
// supervisor, `<pid> <start time>`, written by the supervisor), containerdDaemonPidFile (containerd itself,
// rewritten at every restart), containerdLog (capped, with one rotated `.1`; capped-log.ts), containerdSocket
// (+ `.ttrpc`), containerdLock (flock, see common/file-lock.ts). Invariants: only the holder of containerdLock starts,
// stops or cleans up; a pidfile names a live supervisor or is stale and removed; a process is only signalled when
// pid, start time and program all match.
//
// Rootless later: the supervisor is spawned through `runner` and every path comes from `Paths`, so rootless mode only
// supplies a runner that starts it as rootlesskit's child (and per-user `Paths`): the supervisor then holds the
// namespaces and restarts containerd inside them; it records its own pid, whatever the runner put around it.
import { closeSync, fstatSync, openSync, rmSync, writeFileSync } from "node:fs";
import type { ChildProcess } from "node:child_process";
import { EngineUnavailableError, SvcdError, throwIfAborted } from "../common/errors.js";
import { debug } from "../common/debug.js";
import type { Paths } from "../common/paths.js";
import { ensurePrivateDirSync, PRIVATE_FILE_MODE } from "../common/private-dir.js";
import { HostProcessRunner, type ProcessRunner } from "../common/process-runner.js";
import { checkSocketPath, renderContainerdConfig, TTRPC_SUFFIX } from "./containerd-config.js";
import { answers, type ContainerdProbe } from "./containerd-probe.js";
import { withFileLock } from "../common/file-lock.js";
import { readPidFile, recordAlive, recordRunning, removePidFile, type PidRecord } from "./pid-file.js";
export { logTail } from "./daemon-process.js";
import { processStartTime } from "../common/owner.js";
import { DEFAULT_LOG_MAX_BYTES } from "./capped-log.js";
import { SUPERVISOR_PROGRAM } from "./containerd-supervisor.js";
import { formatSupervisorArgs, supervisorEntry } from "./supervisor-args.js";
import { logTail, pause, terminate } from "./daemon-process.js";

const log = debug("rootless");

/** The program the pidfile must name for its process to count as the managed containerd. */
export const DAEMON_PROGRAM = "containerd";

/** What to install when a binary is missing. */
export const INSTALL_HINT = "apt-get install containerd runc";

/** Binaries the managed containerd needs, with the argument that makes each print its version. */
const REQUIRED_BINARIES: ReadonlyArray<readonly [string, string]> = [
  ["containerd", "--version"],
  ["containerd-shim-runc-v2", "-v"],
  ["runc", "--version"],
];

export interface ManagedContainerdOptions {
  paths: Paths;
  /** Spawns containerd, flock and the version checks. */
  runner: ProcessRunner;
  /** Answers whether a containerd serves a socket. */
  probe: ContainerdProbe;
  /** Environment for the helpers and containerd (PATH decides which binaries run). Default: process.env. */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** How long a started containerd may take to serve (default 10 s). */
  startTimeoutMs?: number;
  /** Cap of containerd's live log file (default 8 MiB; one rotated file of the same size is kept). */
  logMaxBytes?: number;
  /** How long to wait for another process holding the start lock (default 60 s). */
  lockTimeoutMs?: number;
  /**
   * How the supervisor is started: rootless mode wraps it in rootlesskit (rootlesskit-launch.ts), whose child it then
   * is. Called under the lock, just before the spawn. Default: node runs the supervisor as it is.
   */
  launcher?: SupervisorLauncher;
}

/** Turns the supervisor's command into the one to spawn, and says what the supervisor must prepare inside. */
export interface SupervisorLauncher {
  /** Directories the supervisor creates before containerd starts (inside the launcher's mount namespace). */
  makeDirs?: readonly string[];
  /** Cleans what a previous launch left (a stale state dir); the caller holds the lock and no supervisor runs. */
  prepare?(): void;
  command(file: string, args: readonly string[]): { file: string; args: string[] };
}

/** The managed containerd that serves `address`. */
export interface ManagedContainerd {
  address: string;
  /** Its supervisor's pid from the pidfile (undefined when it serves but its pidfile is gone). */
  pid: number | undefined;
  /** True when this call started it. */
  started: boolean;
}

/** Returns the managed containerd, starting it (once per machine, under the lock) when it does not answer. */
export async function ensureManagedContainerd(opts: ManagedContainerdOptions): Promise<ManagedContainerd> {
  const { paths, probe, signal } = opts;
  const address = paths.containerdSocket;
  checkSocketPath(address);
  if (await answers(address, probe, signal)) return { address, pid: readPidFile(paths.containerdPidFile)?.pid, started: false };

  // Missing binaries fail before anyone waits for the lock.
  await checkBinaries(opts.runner, opts.env, signal);
  const lockOpts = { runner: opts.runner, env: opts.env, signal, timeoutMs: opts.lockTimeoutMs };
  return withFileLock(paths.containerdLock, lockOpts, async () => {
    // Another process may have started it while we waited for the lock.
    if (await answers(address, probe, signal)) {
      return { address, pid: readPidFile(paths.containerdPidFile)?.pid, started: false };
    }
    const record = readPidFile(paths.containerdPidFile);
    if (record && recordAlive(record, SUPERVISOR_PROGRAM)) {
      // Still starting up, or restarting a containerd that died: give it its start time.
      log("managed containerd's supervisor pid %d runs but containerd does not answer yet; waiting", record.pid);
      const served = await waitUntilServing(address, probe, {
        timeoutMs: opts.startTimeoutMs ?? 10_000,
        signal,
        exited: () => !recordRunning(record),
      });
      if (served) return { address, pid: record.pid, started: false };
      throw new EngineUnavailableError(
        `the managed containerd's supervisor (pid ${record.pid}) runs but containerd does not answer on ${address}; stop it ` +
          `(kill ${record.pid}) and retry. Log ${paths.containerdLog}:\n${logTail(paths.containerdLog, 0)}`,
      );
    }
    recoverStale(paths, record);
    return startLocked(opts);
  });
}

/** Removes a pidfile naming a dead (or foreign) process and the socket files it left. Caller holds the lock. */
function recoverStale(paths: Paths, record: PidRecord | undefined): void {
  if (record) log("stale pidfile %s: pid %d is not a running containerd", paths.containerdPidFile, record.pid);
  removePidFile(paths.containerdPidFile);
  removeSockets(paths);
}

function removeSockets(paths: Paths): void {
  rmSync(paths.containerdSocket, { force: true });
  rmSync(paths.containerdSocket + TTRPC_SUFFIX, { force: true });
}

/** Throws EngineUnavailableError with the install hint unless containerd, its runc shim and runc run. */
export async function checkBinaries(runner: ProcessRunner, env: NodeJS.ProcessEnv | undefined, signal?: AbortSignal): Promise<void> {
  await Promise.all(
    REQUIRED_BINARIES.map(async ([file, versionArg]) => {
      let result;
      try {
        result = await runner.run(file, [versionArg], { env, signal, timeoutMs: 10_000 });
      } catch (err) {
        throwIfAborted(signal);
        // The runner reports a missing executable (ENOENT) as UNAVAILABLE; anything else (EACCES…) is named as is.
        if (SvcdError.is(err) && err.code === "UNAVAILABLE") {
          throw new EngineUnavailableError(`${file} is not installed (not found in PATH): ${INSTALL_HINT}`, { cause: err });
        }
        const reason = err instanceof Error ? err.message : String(err);
        throw new EngineUnavailableError(`${file} could not be run (${reason}); reinstall: ${INSTALL_HINT}`, { cause: err });
      }
      if (result.exitCode !== 0) {
        const detail = (result.stderr || result.stdout).trim();
        throw new EngineUnavailableError(`${file} ${versionArg} failed (exit ${result.exitCode}): ${detail}; reinstall: ${INSTALL_HINT}`);
      }
    }),
  );
}

/** The running supervisor and containerd of these Paths, from their pidfiles (undefined: not running). */
export function managedPids(paths: Paths): { supervisor: number | undefined; containerd: number | undefined } {
  const sup = readPidFile(paths.containerdPidFile);
  const daemon = readPidFile(paths.containerdDaemonPidFile);
  return {
    supervisor: sup && recordAlive(sup, SUPERVISOR_PROGRAM) ? sup.pid : undefined,
    containerd: daemon && recordAlive(daemon, DAEMON_PROGRAM) ? daemon.pid : undefined,
  };
}

/**
 * Writes the config, spawns the supervisor detached (it starts containerd as its child and records both pids) and
 * waits until containerd serves. Caller holds the lock.
 */
async function startLocked(opts: ManagedContainerdOptions): Promise<ManagedContainerd> {
  const { paths, signal } = opts;
  const address = paths.containerdSocket;
  for (const dir of [paths.containerdRoot, paths.containerdState]) ensurePrivateDirSync(paths, dir); // containerd would make them 0711
  writeFileSync(paths.containerdConfig, renderContainerdConfig(paths), { mode: PRIVATE_FILE_MODE });

  const env: NodeJS.ProcessEnv = { ...(opts.env ?? process.env) };
  delete env.NOTIFY_SOCKET; // containerd would report readiness to our supervisor, not its own
  // The supervisor writes containerd's output into the capped log itself; its own stderr (a crash) is appended too.
  const logFd = openSync(paths.containerdLog, "a", 0o600);
  const logStart = fstatSync(logFd).size;
  const args = formatSupervisorArgs({
    socket: address,
    log: paths.containerdLog,
    logMaxBytes: opts.logMaxBytes ?? DEFAULT_LOG_MAX_BYTES,
    pidFile: paths.containerdPidFile,
    childPidFile: paths.containerdDaemonPidFile,
    makeDirs: [...(opts.launcher?.makeDirs ?? [])],
    program: DAEMON_PROGRAM,
    args: ["--config", paths.containerdConfig],
  });
  opts.launcher?.prepare?.();
  const direct = { file: process.execPath, args: [...supervisorEntry(), ...args] };
  const command = opts.launcher ? opts.launcher.command(direct.file, direct.args) : direct;
  let child: ChildProcess;
  try {
    // Detached (setsid) with no pipe to us: it outlives this process (and the user's shell) and serves the next one.
    child = opts.runner.spawn(command.file, command.args, {
      env,
      cwd: "/",
      stdio: ["ignore", "ignore", logFd],
      detached: true,
    });
  } finally {
    closeSync(logFd);
  }
  // It is our child until this process exits, so its exit arrives as an event (no need to poll /proc).
  let exitReason: string | undefined;
  child.once("error", (err) => (exitReason ??= `could not be started (${err.message})`));
  child.once("exit", (code, sig) => (exitReason ??= sig ? `was killed by ${sig} before serving` : `exited with code ${code} before serving`));
  child.unref();

  const pid = child.pid;
  const startTime = pid === undefined ? undefined : processStartTime(pid);
  const record = pid === undefined || startTime === undefined ? undefined : { pid, startTime };
  log("started the managed containerd's supervisor pid %s on %s", pid, address);
  const fail = (reason: string, cause?: unknown): never => {
    throw new EngineUnavailableError(
      `the managed containerd for ${address} ${reason}. Log ${paths.containerdLog}:\n` +
        logTail(paths.containerdLog, logStart),
      { cause },
    );
  };
  // Aborted while it starts: CancelledError, and it keeps running for the next caller (its pidfile is written).
  const served = await waitUntilServing(address, opts.probe, {
    timeoutMs: opts.startTimeoutMs ?? 10_000,
    signal,
    exited: () => exitReason !== undefined,
  });
  if (served) return { address, pid, started: true };
  if (exitReason !== undefined || !record) {
    removePidFile(paths.containerdPidFile);
    return fail(exitReason ?? "could not be started");
  }
  await terminate(record, 2000, signal);
  await terminateOrphan(paths, 2000, signal);
  removePidFile(paths.containerdPidFile);
  removeSockets(paths);
  return fail(`did not answer within ${opts.startTimeoutMs ?? 10_000} ms`);
}

interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Polled between probes: true once the process that should serve is gone (fail early). */
  exited: () => boolean;
}

/** Probes with backoff (25 ms doubling to 500 ms) until the socket answers, the process exits or time runs out. */
async function waitUntilServing(address: string, probe: ContainerdProbe, opts: WaitOptions): Promise<boolean> {
  const deadline = Date.now() + opts.timeoutMs;
  let delay = 25;
  for (;;) {
    if (await answers(address, probe, opts.signal)) return true;
    if (opts.exited()) return false;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await pause(Math.min(delay, left), opts.signal);
    delay = Math.min(delay * 2, 500);
  }
}

/** A containerd whose supervisor is gone (killed outright) keeps serving unsupervised: stops it; true when one ran. */
async function terminateOrphan(paths: Paths, graceMs: number, signal?: AbortSignal): Promise<boolean> {
  const daemon = readPidFile(paths.containerdDaemonPidFile);
  const orphan = daemon !== undefined && recordAlive(daemon, DAEMON_PROGRAM);
  if (orphan) {
    log("stopping the managed containerd pid %d (its supervisor is gone)", daemon.pid);
    await terminate(daemon, graceMs, signal);
  }
  removePidFile(paths.containerdDaemonPidFile);
  return orphan;
}

export interface StopManagedContainerdOptions {
  /** Spawns flock for the lock (default: a host runner). */
  runner?: ProcessRunner;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** SIGKILL after this long without exiting (default 10 s). */
  timeoutMs?: number;
}

/** Stops the managed containerd named by the pidfile and removes its socket and pidfile; true when one ran. */
export async function stopManagedContainerd(paths: Paths, opts: StopManagedContainerdOptions = {}): Promise<boolean> {
  const runner = opts.runner ?? new HostProcessRunner();
  const lockOpts = { runner, env: opts.env, signal: opts.signal };
  return withFileLock(paths.containerdLock, lockOpts, async () => {
    const record = readPidFile(paths.containerdPidFile);
    const running = record !== undefined && recordAlive(record, SUPERVISOR_PROGRAM);
    if (running) {
      // The supervisor forwards SIGTERM to containerd and exits once containerd has.
      log("stopping the managed containerd's supervisor pid %d", record.pid);
      await terminate(record, opts.timeoutMs ?? 10_000, opts.signal);
    }
    const orphan = await terminateOrphan(paths, opts.timeoutMs ?? 10_000, opts.signal);
    removePidFile(paths.containerdPidFile);
    removeSockets(paths);
    return running || orphan;
  });
}
