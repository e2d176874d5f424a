// A private MariaDB server for tests: a mariadbd child of the test process with a datadir, socket and port of its
// own, listening on 127.0.0.1 only, with the grants the test asks for (the seed's host-service example).
import type { ChildProcess } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { EngineUnavailableError, TimeoutError } from "../../src/common/errors.js";
import { runChecked, type ProcessRunner } from "../../src/common/process-runner.js";
import { onProcessEnd } from "./process-end.js";
import { freePort } from "./registry.js";

const BIN = {
  server: "/usr/sbin/mariadbd",
  installDb: "/usr/bin/mariadb-install-db",
  admin: "/usr/bin/mariadb-admin",
  client: "/usr/bin/mariadb",
};
/** mariadbd runs as this process's user (root as root; in the rootless pass the test user, who cannot chown to root). */
const OS_USER = userInfo().username;

export interface Mariadb {
  port: number;
  stop(): Promise<void>;
}

/** Starts the server; `grants` are SQL statements run as root over its socket once it answers. */
export async function startMariadb(runner: ProcessRunner, grants: readonly string[], timeoutMs = 60_000): Promise<Mariadb> {
  const absent = Object.values(BIN).filter((bin) => !existsSync(bin));
  if (absent.length) {
    throw new EngineUnavailableError(`MariaDB is not installed (${absent.join(", ")} missing): run scripts/setup.sh, which installs mariadb-server`);
  }
  const dir = await mkdtemp(join(tmpdir(), "svcd-mariadb-"));
  const datadir = join(dir, "data");
  const socket = join(dir, "sock");
  // --no-defaults everywhere: the machine's /etc/mysql config (port 3306, its socket) must not leak in.
  await runChecked(runner, BIN.installDb, [
    "--no-defaults", `--datadir=${datadir}`, `--user=${OS_USER}`, "--auth-root-authentication-method=normal", "--skip-test-db",
  ], { timeoutMs });
  const port = await freePort();
  const child = runner.spawn(BIN.server, [
    "--no-defaults", `--datadir=${datadir}`, `--socket=${socket}`, `--port=${port}`, "--bind-address=127.0.0.1",
    `--user=${OS_USER}`, `--pid-file=${join(dir, "mariadbd.pid")}`, "--skip-log-bin", "--innodb-buffer-pool-size=16M",
    // Clients are named by address, not by a reverse lookup of it (which turns 127.0.0.1 into "localhost").
    "--skip-name-resolve",
  ], { stdio: ["ignore", "ignore", "pipe"] });
  const log: string[] = [];
  child.stderr?.on("data", (b: Buffer) => log.push(b.toString()));
  const unregister = onProcessEnd(() => {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });
  const stop = async () => {
    unregister();
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForPing(runner, child, socket, timeoutMs, log);
    // Real grants: the host service dials from the host's loopback, so the server sees the container as 127.0.0.1.
    await runChecked(runner, BIN.client, ["--no-defaults", `--socket=${socket}`, "-uroot", "-e", grants.join(" ")], { timeoutMs });
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, stop };
}

// Polls `mariadb-admin ping` over the socket until the server answers; fails at once if mariadbd exits.
async function waitForPing(runner: ProcessRunner, child: ChildProcess, socket: string, timeoutMs: number, log: string[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.once("exit", () => (exited = true));
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    if (exited) throw new EngineUnavailableError(`mariadbd exited before accepting connections: ${log.join("").trim().slice(-2000)}`);
    const ping = await runner.run(BIN.admin, ["--no-defaults", `--socket=${socket}`, "-uroot", "--connect-timeout=2", "ping"], { timeoutMs: 5_000 });
    if (ping.exitCode === 0) return;
    if (Date.now() > deadline) throw new TimeoutError(`mariadbd did not answer ping within ${timeoutMs} ms: ${log.join("").trim().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

// SIGTERM (a clean InnoDB shutdown), SIGKILL if it takes over 20 s; resolves once the process is gone.
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  await exited;
  clearTimeout(timer);
}

