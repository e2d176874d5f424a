// The seed's host-service example: a MariaDB on the host (a private mariadbd this test starts, with real grants) is
// queried from a container built from the rig's mariadb-client image, through client.service() / host().service().
import { suite } from "uvu";
import * as assert from "uvu/assert";
import type { ChildProcess } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { type Client } from "../../../src/index.js";
import { connect } from "../../rig/connect.js";
import { EngineUnavailableError, ExecError, TimeoutError } from "../../../src/common/errors.js";
import { HostProcessRunner, runChecked, type ProcessRunner } from "../../../src/common/process-runner.js";
import { onProcessEnd } from "../../rig/process-end.js";
import { freePort } from "../../rig/registry.js";

const BIN = {
  server: "/usr/sbin/mariadbd",
  installDb: "/usr/bin/mariadb-install-db",
  admin: "/usr/bin/mariadb-admin",
  client: "/usr/bin/mariadb",
};
const USER = "svcd";
const PASSWORD = `pw-${Math.random().toString(36).slice(2, 12)}`;
/** mariadbd runs as this process's user (root as root; in the rootless pass the test user, who cannot chown to root). */
const OS_USER = userInfo().username;

interface Mariadb {
  port: number;
  stop(): Promise<void>;
}

const test = suite<{ client: Client; db: Promise<Mariadb> }>("host service: MariaDB");
const unique = () => `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

// A mariadbd child of this process: datadir, socket and port of its own, listening on 127.0.0.1 only.
async function startMariadb(runner: ProcessRunner, timeoutMs = 60_000): Promise<Mariadb> {
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
    await runChecked(runner, BIN.client, ["--no-defaults", `--socket=${socket}`, "-uroot", "-e", [
      `CREATE USER '${USER}'@'127.0.0.1' IDENTIFIED BY '${PASSWORD}';`,
      `GRANT SELECT ON mysql.user TO '${USER}'@'127.0.0.1';`,
    ].join(" ")], { timeoutMs });
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

test.before(async (ctx) => {
  // Started here, awaited in each test: an error thrown by a before hook would be swallowed by uvu, not reported.
  ctx.db = startMariadb(new HostProcessRunner());
  ctx.db.catch(() => {});
  ctx.client = await connect({ namespace: "svcd-test", serviceGracePeriodMs: 200 });
});
test.after(async (ctx) => {
  await ctx.client?.close();
  const db = await ctx.db?.catch(() => undefined);
  await db?.stop();
});

test("SELECT Host, User FROM mysql.user from a container, through client.service(tcp://127.0.0.1:<port>)", async (ctx) => {
  const { port } = await ctx.db;
  const out = await ctx.client.container().from("mariadb-client").withEnvVariable("N", unique())
    .withServiceBinding("db", ctx.client.service(`tcp://127.0.0.1:${port}`))
    .withExec(["mariadb", "-h", "db", "-P", String(port), "-u", USER, `-p${PASSWORD}`, "-e", "SELECT Host, User FROM mysql.user"])
    .stdout();
  const rows = out.trim().split("\n").map((line) => line.split("\t"));
  assert.equal(rows[0], ["Host", "User"], out);
  assert.ok(rows.some(([host, user]) => host === "127.0.0.1" && user === USER), out);
});

test("host().service maps db:3306 to the server's port; the server sees the container as svcd@127.0.0.1", async (ctx) => {
  const { port } = await ctx.db;
  const db = ctx.client.host().service([{ frontend: 3306, backend: port }], { host: "127.0.0.1" });
  const out = await ctx.client.container().from("mariadb-client").withEnvVariable("N", unique())
    .withServiceBinding("db", db)
    .withExec(["mariadb", "-h", "db", "-u", USER, `-p${PASSWORD}`, "-N", "-e", "SELECT CURRENT_USER()"])
    .stdout();
  assert.is(out, `${USER}@127.0.0.1\n`);
});

test("grants are real: a wrong password is refused by the server", async (ctx) => {
  const { port } = await ctx.db;
  const run = ctx.client.container().from("mariadb-client").withEnvVariable("N", unique())
    .withServiceBinding("db", ctx.client.service(`tcp://127.0.0.1:${port}`))
    .withExec(["mariadb", "-h", "db", "-P", String(port), "-u", USER, "-pnot-the-password", "-e", "SELECT 1"])
    .stdout();
  const err = await run.then(() => undefined, (e: unknown) => e);
  assert.instance(err, ExecError);
  assert.match((err as ExecError).stderr, /Access denied for user 'svcd'@'127\.0\.0\.1'/, (err as Error).message);
});

test.run();
