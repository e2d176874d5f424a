// Who may use a daemon (DESIGN.md §6, trust model: the socket's file mode is the boundary). As root: a root daemon's
// socket is 0660 group svcd, and a user outside svcd is refused (engine "daemon" and "auto" alike: a socket the
// user may not open is an error naming the group, never a silent fallback), while a member runs a container through
// it; a rootless daemon of svcd-test2 (socket 0600) refuses svcd-test3 and serves its own user. The other users run
// fixtures/daemon-client.ts through setpriv (it execs: no PAM session, signals reach node itself); membership of
// svcd is given with setpriv --groups, so /etc/group is never edited. As a user (no other user to drive), the file
// checks what a user can: its own rootless daemon's socket is 0600 and serves it.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { chmodSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "../../../src/index.js";
import { SVCD_ENTRY, startTestDaemon } from "../../rig/daemon.js";
// @ts-expect-error: a plain .mjs script of the rig, without types
import { readableRepo } from "../../../scripts/rootless-pass.mjs";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const FIXTURE = "test/integration/daemon/fixtures/daemon-client.ts";
const NAMESPACE = "svcd-perm";
const isRoot = process.getuid!() === 0;
const test = suite<{ repo: { root: string; remove(): void } }>("daemon access");

const idOf = (flag: "-u" | "-g", user: string) => Number(spawnSync("id", [flag, user], { encoding: "utf8" }).stdout.trim());
const svcdGid = () => Number(spawnSync("getent", ["group", "svcd"], { encoding: "utf8" }).stdout.split(":")[2]);

function userEnv(user: string): string[] {
  const pass = ["SVCD_REGISTRY_MIRRORS", "SVCD_REGISTRY_FALLBACK", "SVCD_TEST_REGISTRY"].filter((k) => process.env[k]).map((k) => `${k}=${process.env[k]}`);
  return [`HOME=/home/${user}`, `USER=${user}`, `PATH=${process.env.PATH}`, "LANG=C.UTF-8", ...pass];
}

/** `node --import tsx <args>` as `user` (its own groups, or exactly `groups`), in the readable repo. */
function asUser(cwd: string, user: string, args: string[], groups?: string): ChildProcess {
  const ids = [`--reuid=${user}`, `--regid=${idOf("-g", user)}`, groups === undefined ? "--init-groups" : `--groups=${groups}`];
  return spawn("setpriv", [...ids, "env", "-i", ...userEnv(user), process.execPath, "--import", "tsx", ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
}

type Outcome = { ok: boolean; stdout?: string; name?: string; code?: string; message?: string };

async function client(cwd: string, user: string, engine: "auto" | "daemon", socket: string, opts: { echo?: boolean; groups?: string } = {}): Promise<Outcome> {
  const child = asUser(cwd, user, [FIXTURE, engine, socket, ...(opts.echo ? ["echo"] : [])], opts.groups);
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const [code] = (await once(child, "close")) as [number | null];
  const last = out.trim().split("\n").pop() ?? "";
  assert.ok(code === 0 && last.startsWith("{"), `${user} ${engine} exited ${code}: ${out}${err.slice(-2000)}`);
  return JSON.parse(last) as Outcome;
}

/** A rootless daemon of `user` on its default socket; resolves once it serves, with the socket it named. */
async function userDaemon(cwd: string, user: string): Promise<{ socket: string; stop(): Promise<number | null> }> {
  const child = asUser(cwd, user, [SVCD_ENTRY, "--namespace", NAMESPACE]);
  let err = "";
  child.stderr!.setEncoding("utf8");
  const exited = once(child, "exit") as Promise<[number | null]>;
  const socket = await new Promise<string>((resolve, reject) => {
    child.stderr!.on("data", (d: string) => {
      err += d;
      const m = / serving on (\S+) /.exec(err);
      if (m) resolve(m[1]!);
    });
    void exited.then(([code]) => reject(new Error(`${user}'s svcd exited (${code}) before serving: ${err}`)));
  });
  return {
    socket,
    async stop() {
      child.kill("SIGTERM");
      return (await exited)[0];
    },
  };
}

test.before((ctx) => {
  if (!isRoot) return;
  const made = spawnSync("bash", [join(repo, "scripts/rootless-users.sh")], { encoding: "utf8" });
  assert.is(made.status, 0, made.stderr);
  ctx.repo = readableRepo(repo, "svcd-test2");
});
test.after((ctx) => ctx.repo?.remove());

if (isRoot) {
  test("root daemon: socket 0660 group svcd; a non-member is refused naming the group (daemon and auto), a member runs a container", async (ctx) => {
    const dir = mkdtempSync("/tmp/svcd-perm-access-");
    chmodSync(dir, 0o711); // traversable by the users, like /run/svcd
    const socket = join(dir, "svcd.sock");
    const daemon = await startTestDaemon({ socket, env: process.env, args: ["--namespace", NAMESPACE] });
    try {
      const st = statSync(socket);
      assert.ok(st.isSocket());
      assert.is((st.mode & 0o777).toString(8), "660");
      assert.is(st.uid, 0);
      assert.is(st.gid, svcdGid());
      assert.ok((statSync(dir).mode & 0o001) !== 0, "others cannot traverse the socket's dir");
      const groups = spawnSync("id", ["-Gn", "svcd-nosub"], { encoding: "utf8" }).stdout.trim().split(/\s+/);
      assert.not.ok(groups.includes("svcd"), `svcd-nosub is in group svcd: ${groups.join(" ")}`);
      for (const engine of ["daemon", "auto"] as const) {
        const refused = await client(ctx.repo.root, "svcd-nosub", engine, socket);
        assert.is(refused.ok, false, `${engine}: ${JSON.stringify(refused)}`);
        assert.is(refused.name, "EngineUnavailableError", engine);
        assert.is(refused.code, "UNAVAILABLE", engine);
        assert.match(refused.message!, socket, engine);
        assert.match(refused.message!, /group svcd/, engine);
        assert.match(refused.message!, /usermod -aG svcd/, engine);
      }
      const member = await client(ctx.repo.root, "svcd-nosub", "daemon", socket, { echo: true, groups: String(svcdGid()) });
      assert.equal(member, { ok: true, stdout: `hello from uid ${idOf("-u", "svcd-nosub")}\n` }, JSON.stringify(member));
    } finally {
      assert.is(await daemon.stop(), 0, daemon.stderr());
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("rootless daemon of svcd-test2: socket 0600, svcd-test3 is refused naming the owner, svcd-test2 runs a container", async (ctx) => {
    const daemon = await userDaemon(ctx.repo.root, "svcd-test2");
    try {
      const st = statSync(daemon.socket);
      assert.ok(st.isSocket());
      assert.is((st.mode & 0o777).toString(8), "600");
      assert.is(st.uid, idOf("-u", "svcd-test2"));
      const refused = await client(ctx.repo.root, "svcd-test3", "daemon", daemon.socket);
      assert.is(refused.ok, false, JSON.stringify(refused));
      assert.is(refused.name, "EngineUnavailableError");
      assert.is(refused.code, "UNAVAILABLE");
      assert.match(refused.message!, daemon.socket);
      assert.match(refused.message!, /svcd-test2's daemon/);
      const own = await client(ctx.repo.root, "svcd-test2", "daemon", daemon.socket, { echo: true });
      assert.equal(own, { ok: true, stdout: `hello from uid ${idOf("-u", "svcd-test2")}\n` }, JSON.stringify(own));
    } finally {
      assert.is(await daemon.stop(), 0);
    }
  });
} else {
  process.stderr.write("access.test.ts: not root, so no other user to drive: checking this user's own rootless daemon only\n");
  test("a user's own rootless daemon: socket 0600 owned by the user, and it runs the user's container", async () => {
    const daemon = await startTestDaemon({ env: process.env, args: ["--namespace", NAMESPACE] });
    try {
      const st = statSync(daemon.socket);
      assert.is((st.mode & 0o777).toString(8), "600");
      assert.is(st.uid, process.getuid!());
      const c = await connect({ engine: "daemon", socket: daemon.socket, serviceGracePeriodMs: 0 });
      try {
        assert.is(await c.container().from("busybox").withExec(["echo", "mine"]).stdout(), "mine\n");
      } finally {
        await c.close();
      }
    } finally {
      assert.is(await daemon.stop(), 0, daemon.stderr());
    }
  });
}

test.run();
