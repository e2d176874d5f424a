// A user's own engine: prerequisites checked, the user's runtime root verified as theirs, then the per-user managed
// containerd under rootlesskit (started once under the lock, reused by every later process of the user), and the
// runner that enters its namespaces for every helper.
import { lstatSync, mkdirSync } from "node:fs";
import { EngineUnavailableError, throwIfAborted } from "../common/errors.js";
import { debug } from "../common/debug.js";
import type { Paths } from "../common/paths.js";
import { HostProcessRunner } from "../common/process-runner.js";
import { clientProbe, type ContainerdProbe } from "./containerd-probe.js";
import { SUPERVISOR_PROGRAM } from "./containerd-supervisor.js";
import { ensureManagedContainerd } from "./managed-containerd.js";
import { NamespaceRunner } from "./namespace-runner.js";
import { readPidFile, recordAlive, type PidRecord } from "./pid-file.js";
import { checkRootlessPrerequisites } from "./prerequisites.js";
import { rootlesskitLauncher } from "./rootlesskit-launch.js";

const log = debug("rootless");

export interface RootlessContainerdOptions {
  paths: Paths;
  uid: number;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  probe?: ContainerdProbe;
  startTimeoutMs?: number;
}

export interface RootlessContainerd {
  address: string;
  /** Enters the supervisor's user and mount namespaces for every helper. */
  runner: NamespaceRunner;
  started: boolean;
  /** The supervisor (rootlesskit's child, the namespaces' holder). */
  pid: number | undefined;
}

/**
 * The runtime root must be the user's own directory and not a link: /tmp/svcd-<uid> could have been made by another
 * user to catch this one's sockets and files. Creates it (0700) when missing.
 */
export function claimRuntimeRoot(dir: string, uid: number): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") mkdirSync(dir, { recursive: true, mode: 0o700 });
    else if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw new EngineUnavailableError(`cannot create svcd's runtime directory ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== uid) {
    throw new EngineUnavailableError(
      `svcd's runtime directory ${dir} is ${st.isDirectory() ? `owned by uid ${st.uid}` : "not a directory"}, not by you (uid ${uid}): ` +
        `remove it, or set XDG_RUNTIME_DIR (or SVCD_RUNTIME_DIR) to a directory of your own`,
    );
  }
}

/** Starts (or finds) the user's containerd under rootlesskit; EngineUnavailableError names any missing prerequisite. */
export async function ensureRootlessContainerd(opts: RootlessContainerdOptions): Promise<RootlessContainerd> {
  const { paths, signal } = opts;
  throwIfAborted(signal);
  checkRootlessPrerequisites({ uid: opts.uid, env: opts.env });
  claimRuntimeRoot(paths.runtime, opts.uid);
  const managed = await ensureManagedContainerd({
    paths,
    runner: new HostProcessRunner(),
    probe: opts.probe ?? clientProbe(),
    env: opts.env,
    signal,
    startTimeoutMs: opts.startTimeoutMs,
    launcher: rootlesskitLauncher(paths),
  });
  log("rootless containerd at %s (supervisor pid %s, started %s)", managed.address, managed.pid, managed.started);
  return { address: managed.address, runner: userNamespaceRunner(paths), started: managed.started, pid: managed.pid };
}

/** A runner into the namespaces of the user engine of these Paths (which must be running). */
export function userNamespaceRunner(paths: Paths): NamespaceRunner {
  return new NamespaceRunner(namespaceHolder(paths));
}

/** The live supervisor of these Paths, re-read when the one seen last has gone (another process restarted it). */
function namespaceHolder(paths: Paths): () => number {
  let last: PidRecord | undefined;
  return () => {
    if (last && recordAlive(last, SUPERVISOR_PROGRAM)) return last.pid;
    const record = readPidFile(paths.containerdPidFile);
    if (!record || !recordAlive(record, SUPERVISOR_PROGRAM)) {
      throw new EngineUnavailableError(
        `the rootless engine's namespaces are gone: its supervisor (${paths.containerdPidFile}) is not running; close this client and connect again`,
      );
    }
    last = record;
    return record.pid;
  };
}
