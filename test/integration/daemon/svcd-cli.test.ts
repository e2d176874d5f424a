// The `svcd` bin (DESIGN.md §6, issue 10 item 5): --version, --help, usage errors (exit 2); a root daemon refuses to
// start without the group svcd (tested in a private mount namespace whose /etc/group lacks it: the machine's is never
// edited); a second daemon on a served socket refuses and leaves the first one working; SIGTERM exits 0 and removes
// the socket; socket activation (LISTEN_PID/LISTEN_FDS, the listening socket as fd 3) serves clients.
// As a user everything but the group test runs the same (the daemons are rootless); the group test is root's.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawn, type StdioOptions } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, type Client } from "../../../src/index.js";
import { probeDaemon } from "../../../src/daemon/index.js";
import { SVCD_ENTRY, startTestDaemon } from "../../rig/daemon.js";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const NAMESPACE = "svcd-perm";
const isRoot = process.getuid!() === 0;
const test = suite<{ dir: string }>("svcd bin");

type Run = { code: number | null; stdout: string; stderr: string };

/** Runs `cmd args` to its end (svcd through tsx unless `cmd` is given). */
async function run(args: string[], opts: { cmd?: string; env?: NodeJS.ProcessEnv; stdio?: StdioOptions } = {}): Promise<Run> {
  const cmd = opts.cmd ?? process.execPath;
  const argv = opts.cmd ? args : ["--import", "tsx", SVCD_ENTRY, ...args];
  const child = spawn(cmd, argv, { cwd: repo, env: opts.env ?? process.env, stdio: opts.stdio ?? ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const [code] = (await once(child, "close")) as [number | null];
  return { code, stdout, stderr };
}

const echo = async (socket: string, text: string) => {
  const c: Client = await connect({ engine: "daemon", socket, serviceGracePeriodMs: 0 });
  try {
    return await c.container().from("busybox").withExec(["echo", text]).stdout();
  } finally {
    await c.close();
  }
};

test.before((ctx) => {
  ctx.dir = mkdtempSync("/tmp/svcd-perm-cli-");
});
test.after((ctx) => rmSync(ctx.dir, { recursive: true, force: true }));

test("--version prints the package's version; --help prints usage and exits 0", async () => {
  const { version } = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { version: string };
  const v = await run(["--version"]);
  assert.is(v.code, 0, v.stderr);
  assert.is(v.stdout, `svcd ${version}\n`);
  const h = await run(["--help"]);
  assert.is(h.code, 0, h.stderr);
  assert.match(h.stdout, /^usage: svcd \[options\]/);
  for (const flag of ["--socket", "--rootless", "--root", "--registry-mirror", "--namespace", "--version"]) assert.match(h.stdout, flag);
});

test("usage errors exit 2 with the usage: an unknown flag, --rootless with --root", async () => {
  const unknown = await run(["--no-such-flag"]);
  assert.is(unknown.code, 2, unknown.stderr);
  assert.match(unknown.stderr, "--no-such-flag");
  assert.match(unknown.stderr, "usage: svcd");
  const both = await run(["--rootless", "--root"]);
  assert.is(both.code, 2, both.stderr);
  assert.match(both.stderr, "--rootless and --root exclude each other");
  assert.match(both.stderr, "usage: svcd");
});

if (isRoot) {
  test("a root daemon without the group svcd refuses to start, naming groupadd --system svcd, and makes no socket", async (ctx) => {
    const group = join(ctx.dir, "group");
    writeFileSync(group, readFileSync("/etc/group", "utf8").split("\n").filter((l) => !l.startsWith("svcd:")).join("\n"));
    const socket = join(ctx.dir, "nogroup", "svcd.sock");
    // A private mount namespace: /etc/group is the copy without svcd for this process tree only.
    const script = `mount --bind "$1" /etc/group && shift && exec "$@"`;
    const r = await run(["--mount", "--propagation", "private", "sh", "-c", script, "sh", group, process.execPath, "--import", "tsx", SVCD_ENTRY, "--socket", socket, "--namespace", NAMESPACE], { cmd: "unshare" });
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, "the group svcd does not exist");
    assert.match(r.stderr, "groupadd --system svcd");
    assert.not.ok(existsSync(socket), "a socket was made");
    assert.match(readFileSync("/etc/group", "utf8"), /^svcd:/m); // the machine's group database is untouched
  });
} else {
  process.stderr.write("svcd-cli.test.ts: not root: the root daemon's svcd-group check is tested in the root pass\n");
}

test("a second daemon on a served socket refuses (already serves) and the first keeps serving", async (ctx) => {
  const socket = join(ctx.dir, "two", "svcd.sock");
  const first = await startTestDaemon({ socket, env: process.env, args: ["--namespace", NAMESPACE] });
  try {
    const c = await connect({ engine: "daemon", socket, serviceGracePeriodMs: 0 });
    try {
      const web = c.container().from("busybox").withNewFile("/www/index.html", "first's").withExposedPort(8080)
        .withEntrypoint(["sh", "-c", "exec httpd -f -p 8080 -h /www"]).asService();
      await web.start();
      const second = await run(["--socket", socket, "--namespace", NAMESPACE]);
      assert.is(second.code, 1, second.stderr);
      assert.match(second.stderr, `an svcd daemon (pid ${first.pid}) already serves ${socket}`);
      // Nothing of the first's was disturbed: its socket, its running service, its network.
      assert.is((await probeDaemon(socket)).state, "answers");
      const got = await c.container().from("busybox").withServiceBinding("web", web).withExec(["wget", "-qO-", "http://web:8080/"]).stdout();
      assert.is(got, "first's");
      await web.stop();
    } finally {
      await c.close();
    }
  } finally {
    assert.is(await first.stop(), 0, first.stderr());
  }
});

test("SIGTERM: exit 0, and the socket file is removed", async (ctx) => {
  const socket = join(ctx.dir, "term", "svcd.sock");
  const daemon = await startTestDaemon({ socket, env: process.env, args: ["--namespace", NAMESPACE] });
  assert.is(await echo(socket, "before SIGTERM"), "before SIGTERM\n");
  assert.is(await daemon.stop(), 0, daemon.stderr());
  assert.match(daemon.stderr(), "SIGTERM: ending");
  assert.match(daemon.stderr(), "svcd: stopped");
  assert.not.ok(existsSync(socket), `${socket} is left`);
});

test("socket activation: the listening socket as fd 3 with LISTEN_PID/LISTEN_FDS serves clients", async (ctx) => {
  // The listening socket is made here, as systemd makes it; LISTEN_PID must be the daemon's own pid, so a shell
  // exports its $$ and execs svcd (keeping the pid and fd 3).
  const bound = join(ctx.dir, "activate-bind.sock");
  const socket = join(ctx.dir, "activate.sock");
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(bound, resolve));
  const fd = (server as unknown as { _handle: { fd: number } })._handle.fd; // spawn takes an fd, not a net.Server
  assert.ok(fd > 2, `listening fd ${fd}`);
  const script = `export LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=svcd.socket; exec "$@"`;
  const child = spawn("sh", ["-c", script, "sh", process.execPath, "--import", "tsx", SVCD_ENTRY, "--namespace", NAMESPACE], {
    cwd: repo,
    env: process.env,
    stdio: ["ignore", "inherit", "pipe", fd],
  });
  // The file is renamed before this process lets go of its copy (closing a unix listener unlinks its path): the
  // socket stays bound to the inode, and from now on only the daemon accepts on it.
  renameSync(bound, socket);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(existsSync(socket));
  const exited = once(child, "exit") as Promise<[number | null]>;
  let err = "";
  child.stderr!.setEncoding("utf8");
  try {
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on("data", (d: string) => {
        err += d;
        if (err.includes("serving on")) resolve();
      });
      void exited.then(([code]) => reject(new Error(`svcd exited (${code}) before serving: ${err}`)));
    });
    assert.match(err, "serving on the socket systemd passed (fd 3)");
    assert.is(await echo(socket, "activated"), "activated\n");
  } finally {
    child.kill("SIGTERM");
    const [code] = await exited;
    assert.is(code, 0, err);
  }
});

test.run();
