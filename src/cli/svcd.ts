#!/usr/bin/env -S node --max-semi-space-size=1
// `svcd`: the engine as a daemon (DESIGN.md §6). Opens the engine core (containerd, reaping what a dead predecessor
// left, before anything is served), then serves sessions on its unix socket — its own, or the one systemd passes
// (socket activation). SIGTERM or SIGINT: stop accepting, let calls under way finish (10 s at most), end every session
// (their services stopped), exit 0; a second signal exits at once.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { debug } from "../common/debug.js";
import { EngineUnavailableError, InvalidArgumentError, SvcdError } from "../common/errors.js";
import { DaemonServer, daemonSocketPath, svcdVersion, type DaemonListen } from "../daemon/index.js";
import { openEngineCore } from "../engine/index.js";
import { MIRRORS_ENV, parseMirrorsEnv } from "../image/index.js";

const USAGE = `usage: svcd [options]
Serves svcd's engine to local clients on a unix socket (connect() and svc use it when it answers).

  --socket PATH             socket to listen on (default: $SVCD_SOCKET, else /run/svcd/svcd.sock as root,
                            $XDG_RUNTIME_DIR/svcd/svcd.sock as a user); ignored under systemd socket activation
  --rootless | --root       insist on a rootless (user) or rootful engine (default: rootless unless root)
  --registry-mirror D=URL   a registry mirror for every session, e.g. docker.io=http://127.0.0.1:5000 (repeatable;
                            adds to $${MIRRORS_ENV})
  --containerd PATH         containerd's socket (root only; default: $CONTAINERD_ADDRESS, the system one, or managed)
  --namespace NS            containerd namespace (default svcd)
  --version                 print the version
  --help                    this text

The root daemon's socket is mode 0660, group svcd: members of svcd are root-equivalent, as docker's group is.`;

/** SIGTERM lets calls under way finish for this long before the sessions are ended (systemd's stop timeout is 90 s). */
const DRAIN_MS = 10_000;

const log = (line: string) => process.stderr.write(`svcd: ${line}\n`);
const trace = debug("daemon");

/** The group the root daemon's socket belongs to (DESIGN.md §6). */
export const DAEMON_GROUP = "svcd";

function groupId(name: string): number | undefined {
  try {
    for (const line of readFileSync("/etc/group", "utf8").split("\n")) {
      const [group, , gid] = line.split(":");
      if (group === name) return Number(gid);
    }
  } catch {
    // no group database: treated as no group
  }
  return undefined;
}

/** systemd's socket activation: the listening socket is fd 3 when LISTEN_PID names this process. */
function activatedFd(env: NodeJS.ProcessEnv): number | undefined {
  if (env.LISTEN_PID !== String(process.pid)) return undefined;
  const count = Number(env.LISTEN_FDS);
  if (!Number.isInteger(count) || count < 1) return undefined;
  if (count > 1) throw new InvalidArgumentError(`systemd passed ${count} sockets (LISTEN_FDS); svcd.socket must have exactly one ListenStream=`);
  return 3;
}

/**
 * A daemon idles most of its life: a small young generation (1 MiB semispaces instead of 16, set on the shebang line
 * and by the units: it only takes effect at V8's start) keeps its resident set small at a cost of microseconds per
 * scavenge, and one full collection once startup's garbage (the parsed protos, the reaper's listings) is dropped
 * returns that memory before the first client arrives.
 */
function compactMemory(): void {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as (() => void) | undefined;
  gc?.();
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        socket: { type: "string" },
        rootless: { type: "boolean" },
        root: { type: "boolean" },
        "registry-mirror": { type: "string", multiple: true },
        containerd: { type: "string" },
        namespace: { type: "string" },
        version: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    process.stderr.write(`svcd: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const flags = parsed.values;
  if (flags.help) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  if (flags.version) {
    process.stdout.write(`svcd ${svcdVersion()}\n`);
    return 0;
  }
  if (flags.rootless && flags.root) {
    process.stderr.write(`svcd: --rootless and --root exclude each other\n${USAGE}\n`);
    return 2;
  }
  const env = process.env;
  const mirrors = flags["registry-mirror"] ?? [];
  if (mirrors.length > 0) {
    parseMirrorsEnv(mirrors.join(",")); // each flag checked before anything starts
    env[MIRRORS_ENV] = [env[MIRRORS_ENV], ...mirrors].filter(Boolean).join(",");
  }
  const uid = process.getuid?.() ?? 0;
  const rootless = flags.rootless ? true : flags.root ? false : "auto";
  const fd = activatedFd(env);
  delete env.LISTEN_PID; // not inherited by containerd or helpers
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  const userMode = rootless === true || (rootless === "auto" && uid !== 0);
  let listen: DaemonListen;
  if (fd !== undefined) listen = { fd };
  else if (userMode) listen = { path: daemonSocketPath(flags.socket, env, uid), mode: 0o600 };
  else {
    const gid = groupId(DAEMON_GROUP);
    if (gid === undefined) {
      throw new EngineUnavailableError(`the group ${DAEMON_GROUP} does not exist: its members may use the root daemon's socket; create it with \`groupadd --system ${DAEMON_GROUP}\` (scripts/setup.sh and packaging/sysusers.d/svcd.conf do)`);
    }
    listen = { path: daemonSocketPath(flags.socket, env, uid), mode: 0o660, gid };
  }
  const started = Date.now();
  const core = await openEngineCore({ containerd: flags.containerd, namespace: flags.namespace, rootless, ownerSessionId: "svcd-daemon", reap: "all", env });
  let server: DaemonServer;
  try {
    server = await DaemonServer.start({ core, listen });
  } catch (err) {
    await core.close();
    throw err;
  }
  compactMemory();
  log(`svcd ${svcdVersion()} serving on ${"fd" in listen ? "the socket systemd passed (fd 3)" : listen.path} (pid ${process.pid}, ${core.userMode ? "rootless" : "rootful"}, containerd ${core.endpoint.address}, ready in ${Date.now() - started} ms)`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        log(`${signal} again: exiting without waiting for the sessions`);
        process.exit(1);
      }
      stopping = true;
      const counts = server.hub.counts;
      log(`${signal}: ending ${counts.sessions} session(s) of ${counts.clients} client(s)`);
      server.close({ drainMs: DRAIN_MS }).then(
        () => {
          log("stopped");
          resolve(0);
        },
        (err: unknown) => {
          log(`stopping: ${(err as Error).message}`);
          resolve(1);
        },
      );
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    trace("serving");
  });
}

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (err: unknown) => {
    process.stderr.write(`svcd: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(SvcdError.is(err) && err.code === "INVALID_ARGUMENT" ? 2 : 1);
  },
);
