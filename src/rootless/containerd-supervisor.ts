// The small supervisor that owns the managed containerd as its child: it restarts containerd with backoff when it
// dies (the shims and their containers live on, and the new containerd reconnects to them), writes containerd's
// stdout/stderr into a capped log, forwards SIGTERM for a clean shutdown and records its own pid and containerd's.
// It runs in its own process (supervisor-main.ts), so it is also what rootless mode makes rootlesskit's child: the
// process that holds the namespaces and brings containerd back inside them.
//
// A containerd that exits before it ever served (bad config, missing plugin) is not restarted: the supervisor exits
// with its status, so the engine that started it fails at once with the log's tail.
import { spawn as spawnChild, type ChildProcess, type SpawnOptions } from "node:child_process";
import { connect } from "node:net";
import { constants as osConstants } from "node:os";
import type { CappedLog } from "./capped-log.js";
import { removePidFile, writePidFile } from "./pid-file.js";
import { RestartBackoff } from "./restart-backoff.js";

/** The supervisor's process name (/proc/<pid>/comm, at most 15 bytes): what its pidfile must name. */
export const SUPERVISOR_PROGRAM = "svcd-containerd";

export interface SupervisorOptions {
  /** containerd and its arguments. */
  program: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** containerd's gRPC socket: the first run counts as up once it accepts a connection. */
  socket: string;
  log: CappedLog;
  /** The supervisor's own pidfile, and containerd's (rewritten at every restart). */
  pidFile: string;
  childPidFile: string;
  /** After SIGTERM, SIGKILL containerd if it has not exited within this long (default 8 s). */
  graceMs?: number;
  backoff?: RestartBackoff;
  spawn?: (file: string, args: readonly string[], options: SpawnOptions) => ChildProcess;
  /** Receives the supervisor's stop request (SIGTERM/SIGINT in the real process). */
  onStopRequest?: (stop: () => void) => void;
}

/** Supervises until stopped; resolves with the exit status for the supervisor process. */
export async function superviseContainerd(opts: SupervisorOptions): Promise<number> {
  const spawn = opts.spawn ?? ((file, args, o) => spawnChild(file, [...args], o));
  const backoff = opts.backoff ?? new RestartBackoff();
  const note = (text: string) => opts.log.write(`${new Date().toISOString()} svcd-supervisor[${process.pid}]: ${text}\n`);
  writePidFile(opts.pidFile, process.pid);

  let stopping = false;
  let child: ChildProcess | undefined;
  let wake: (() => void) | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    note("stop requested");
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      killTimer = setTimeout(() => {
        note(`containerd did not exit within ${opts.graceMs ?? 8000} ms of SIGTERM: SIGKILL`);
        child?.kill("SIGKILL");
      }, opts.graceMs ?? 8000);
    }
    wake?.();
  };
  opts.onStopRequest?.(stop);

  let served = false;
  try {
    while (!stopping) {
      const startedAt = Date.now();
      const run = spawn(opts.program, opts.args, { env: opts.env ?? process.env, cwd: "/", stdio: ["ignore", "pipe", "pipe"] });
      child = run;
      run.stdout?.on("data", (b: Buffer) => opts.log.write(b));
      run.stderr?.on("data", (b: Buffer) => opts.log.write(b));
      let ended = false;
      const exited = new Promise<string>((resolve) => {
        run.once("error", (err) => resolve(`could not be started (${err.message})`));
        // "close", not "exit": containerd's last lines (why it died) are in the log before the supervisor moves on.
        run.once("close", (code, sig) => resolve(sig ? `was killed by ${sig}` : `exited with code ${code}`));
      }).finally(() => (ended = true));
      if (run.pid !== undefined) writePidFile(opts.childPidFile, run.pid);
      note(`containerd started (pid ${run.pid ?? "?"})`);
      if (!served) {
        const up = await Promise.race([waitForSocket(opts.socket, () => stopping || ended), exited.then(() => false)]);
        if (!up && !stopping) {
          const how = await exited;
          note(`containerd ${how} before serving; not restarting`);
          return exitStatus(run);
        }
        served = up;
      }
      const how = await exited;
      removePidFile(opts.childPidFile);
      if (stopping) {
        note(`containerd ${how} after stop`);
        break;
      }
      const delay = backoff.next(Date.now() - startedAt);
      note(`containerd ${how}; restarting in ${delay} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        wake = () => (clearTimeout(timer), resolve());
      });
      wake = undefined;
    }
    return 0;
  } finally {
    clearTimeout(killTimer);
    removePidFile(opts.childPidFile);
    removePidFile(opts.pidFile);
  }
}

/** The status a process exits with to mirror its child's: its code, or 128 + the signal number. */
function exitStatus(child: ChildProcess): number {
  if (child.exitCode !== null) return child.exitCode || 1;
  const n = child.signalCode ? (osConstants.signals as Record<string, number | undefined>)[child.signalCode] : undefined;
  return n ? 128 + n : 1;
}

/** Polls (25 ms doubling to 500 ms) until the unix socket accepts a connection; false once `gaveUp()` says so. */
async function waitForSocket(path: string, gaveUp: () => boolean): Promise<boolean> {
  for (let delay = 25; ; delay = Math.min(delay * 2, 500)) {
    if (gaveUp()) return false;
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(path);
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, delay));
  }
}
