// What only a real systemd shows (issue 12), run inside the VM by scripts/vm/in-vm.sh before anything else has
// connected: svcd.socket listening with svcd.service not yet started; the first client's connect starting
// svcd.service (socket activation, fd 3) and the seed demo (`svc call -m examples/hello.ts get`) served by it; a
// rootless user's own svcd.socket under `systemctl --user`, kept by lingering, serving that user; and
// `systemctl stop svcd` leaving nothing: no process of the unit, nothing of the engine (the rig's leak check, on a
// containerd started afterwards for the purpose). Root only, on a machine where systemd is PID 1.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { probeDaemon } from "../../src/daemon/index.js";
import { ContainerdClient } from "../../src/containerd/index.js";
import { checkLeaks } from "../rig/leak-check.js";
import { ensureContainerdForTests } from "../rig/containerd.js";
import { pushTestImages, startRegistry, type RunningRegistry } from "../rig/registry.js";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const SVC = "/usr/local/bin/svc";
const SOCKET = "/run/svcd/svcd.sock";
const USER = "svcd-test";
// run-tests.mjs points SVCD_SOCKET at a socket that does not exist (so that no daemon captures the embedded tests):
// these tests are about the default sockets, so what they start gets the environment without it.
const { SVCD_SOCKET: _unused, ...baseEnv } = process.env;
const test = suite<{ registry: RunningRegistry; mirrors: string; uid: number }>("systemd (VM)");

type Ran = { status: number | null; stdout: string; stderr: string };
function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): Ran {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 600_000, ...opts });
  if (r.error) throw r.error;
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}
function must(cmd: string, args: string[], opts: SpawnSyncOptions = {}): string {
  const r = run(cmd, args, opts);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}
/** `systemctl show -p <prop> --value <unit>`, for the system manager or (with `user`) a user's manager. */
function show(unit: string, prop: string, user?: string): string {
  const scope = user ? ["--user", `--machine=${user}@`] : [];
  return must("systemctl", [...scope, "show", "-p", prop, "--value", unit]).trim();
}
/** The pids in a unit's cgroup (none once it is stopped and the cgroup is gone). */
function unitPids(unit: string, user?: string): number[] {
  const group = show(unit, "ControlGroup", user);
  if (!group) return [];
  try {
    return readFileSync(`/sys/fs/cgroup${group}/cgroup.procs`, "utf8").split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

test.before(async (ctx) => {
  if (process.getuid!() !== 0) throw new Error("test/vm runs as root inside the VM (scripts/vm/in-vm.sh)");
  if (!readFileSync("/proc/1/comm", "utf8").startsWith("systemd")) throw new Error("PID 1 is not systemd: test/vm runs inside the VM");
  ctx.registry = await startRegistry();
  await pushTestImages(ctx.registry.url);
  ctx.mirrors = `docker.io=${ctx.registry.url}`;
  ctx.uid = Number(must("id", ["-u", USER]).trim());
});
test.after(async (ctx) => {
  await ctx.registry?.stop();
});

test("svcd.socket listens (0660, group svcd) and svcd.service waits for the first client", () => {
  assert.is(show("svcd.socket", "ActiveState"), "active");
  assert.is(show("svcd.socket", "UnitFileState"), "enabled");
  const st = statSync(SOCKET);
  assert.ok(st.isSocket());
  assert.is((st.mode & 0o777).toString(8), "660");
  assert.is(st.gid, Number(must("getent", ["group", "svcd"]).split(":")[2]));
  assert.is(show("svcd.service", "ActiveState"), "inactive", "nothing may have connected before this test");
});

test("the first client's connect starts svcd.service, and the seed demo runs through it", (ctx) => {
  // The first client is `svc call` itself: its probe's connect is what makes systemd start svcd.service.
  const demo = run(SVC, ["call", "-q", "-m", "examples/hello.ts", "get"], {
    cwd: repo,
    env: { ...baseEnv, SVCD_REGISTRY_MIRRORS: ctx.mirrors, DEBUG: "svcd:connect" },
  });
  assert.is(demo.status, 0, demo.stderr);
  assert.match(demo.stdout, "Hello, world!");
  assert.match(demo.stderr, /svcd's daemon at \/run\/svcd\/svcd\.sock answers \(pid \d+\): the session is its/, "svc call ran through the daemon, not embedded");
  assert.is(show("svcd.service", "ActiveState"), "active");
  assert.match(show("svcd.service", "TriggeredBy"), "svcd.socket");
  assert.is(show("svcd.service", "NRestarts"), "0");
  const daemonPid = Number(/answers \(pid (\d+)\)/.exec(demo.stderr)![1]);
  assert.is(Number(show("svcd.service", "MainPID")), daemonPid, "the daemon svc talked to is the unit's main process");
  const journal = must("journalctl", ["-u", "svcd.service", "-o", "cat", "--no-pager"]);
  assert.match(journal, "serving on the socket systemd passed (fd 3)");
  // Its engine lives in the unit's cgroup (Delegate=yes): containerd and the shims are the unit's processes.
  const names = unitPids("svcd.service").map((pid) => readFileSync(`/proc/${pid}/comm`, "utf8").trim());
  assert.ok(names.includes("containerd"), `containerd in svcd.service's cgroup (${names.join(", ")})`);
});

test("a library client reaches the same daemon; a second connect does not restart it", async (ctx) => {
  const probe = await probeDaemon(SOCKET);
  assert.is(probe.state, "answers");
  if (probe.state !== "answers") return;
  assert.is(probe.version.pid, Number(show("svcd.service", "MainPID")));
  assert.is(probe.version.rootless, false);
  const out = run(process.execPath, ["--import", "tsx", "-e", `
    import { connect } from "./src/index.ts";
    const c = await connect({ engine: "daemon", registryMirrors: { "docker.io": ${JSON.stringify(ctx.registry.url)} } });
    try { process.stdout.write(await c.container().from("busybox").withExec(["echo", "through systemd"]).stdout()); }
    finally { await c.close(); }
  `], { cwd: repo, env: baseEnv });
  assert.is(out.status, 0, out.stderr);
  assert.is(out.stdout, "through systemd\n");
  assert.is(show("svcd.service", "NRestarts"), "0");
});

test("a rootless user's svcd.socket (systemctl --user, lingering) serves that user", (ctx) => {
  assert.is(must("loginctl", ["show-user", USER, "-p", "Linger", "--value"]).trim(), "yes");
  assert.is(show("svcd.socket", "ActiveState", USER), "active");
  assert.is(show("svcd.service", "ActiveState", USER), "inactive", "the user's daemon waits for its first client");
  const runtime = `/run/user/${ctx.uid}`;
  const demo = run("runuser", ["-u", USER, "--", "env", "-i", `PATH=${process.env.PATH}`, "LANG=C.UTF-8", `XDG_RUNTIME_DIR=${runtime}`, `HOME=/home/${USER}`, `SVCD_REGISTRY_MIRRORS=${ctx.mirrors}`, "DEBUG=svcd:connect", SVC, "call", "-q", "-m", "examples/hello.ts", "get"], { cwd: repo });
  assert.is(demo.status, 0, demo.stderr);
  assert.match(demo.stdout, "Hello, world!");
  assert.match(demo.stderr, `svcd's daemon at ${runtime}/svcd/svcd.sock answers`);
  assert.is(show("svcd.service", "ActiveState", USER), "active");
  assert.match(show("svcd.service", "TriggeredBy", USER), "svcd.socket");
  assert.match(must("journalctl", ["_UID=" + ctx.uid, "-o", "cat", "--no-pager"]), /serving on the socket systemd passed \(fd 3\) \(pid \d+, rootless/);
  // Another user (root aside) cannot open it: 0600, the user's own.
  const st = statSync(`${runtime}/svcd/svcd.sock`);
  assert.is(st.uid, ctx.uid);
  assert.is((st.mode & 0o777).toString(8), "600");
});

test("systemctl stop leaves nothing: no process of either unit, nothing of the engine", async () => {
  must("systemctl", ["--user", `--machine=${USER}@`, "stop", "svcd.service"]);
  assert.is(show("svcd.service", "ActiveState", USER), "inactive");
  assert.equal(unitPids("svcd.service", USER), [], "the user unit's cgroup is empty");
  const userProcs = must("ps", ["-u", USER, "-o", "comm="]).split("\n").map((l) => l.trim()).filter(Boolean);
  // The user's manager and what it runs for any user (the session bus of dbus-user-session) stay.
  assert.equal(userProcs.filter((c) => !["systemd", "(sd-pam)", "dbus-daemon"].includes(c)), [], `only the user's manager stays (${userProcs.join(", ")})`);

  must("systemctl", ["stop", "svcd.service"]);
  assert.is(show("svcd.service", "ActiveState"), "inactive");
  assert.is(show("svcd.service", "Result"), "success", "svcd exited cleanly on SIGTERM");
  assert.equal(unitPids("svcd.service"), [], "the unit's cgroup is empty");
  assert.is(show("svcd.socket", "ActiveState"), "active", "the socket stays, for the next client");
  // Everything the daemon made is gone: containers, tasks, snapshots, leases (asked of a containerd started now on
  // the daemon's state), netns, IP leases, hosts files, mounts, nftables entries, processes.
  // Under software emulation a cold containerd takes tens of seconds to answer: far beyond the rig's default.
  const containerd = await ensureContainerdForTests({ timeoutMs: 300_000 });
  const client = new ContainerdClient({ address: containerd.address, namespace: "default" });
  try {
    assert.equal(await checkLeaks({ address: containerd.address, client }), []);
  } finally {
    client.close();
  }
});

test.run();
