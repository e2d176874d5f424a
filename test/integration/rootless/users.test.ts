// Rootless engines of several users, driven from the root pass: each user (made by scripts/rootless-users.sh) runs
// test/integration/rootless/fixtures/user-engine.ts through runuser. A user without sub-id ranges gets the
// prerequisite error naming the fix and nothing is left of the attempt; two users run the seed example at the same
// time as a root engine serves a service; and neither user reaches the other's service, files, socket or processes.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, type Client } from "../../../src/index.js";
// @ts-expect-error: a plain .mjs script of the rig, without types
import { readableRepo } from "../../../scripts/rootless-pass.mjs";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
// Not svcd-test: the rootless pass runs as that user at the same time, and its leak check and lifecycle test see
// (and stop) that user's engine.
const USERS = ["svcd-test2", "svcd-test3"] as const;
const test = suite<{ repo: { root: string; remove(): void }; root: Client }>("rootless users");

const uidOf = (user: string) => Number(spawnSync("id", ["-u", user], { encoding: "utf8" }).stdout.trim());

function userEnv(user: string): string[] {
  const pass = ["SVCD_REGISTRY_MIRRORS", "SVCD_REGISTRY_FALLBACK", "SVCD_TEST_REGISTRY"].filter((k) => process.env[k]).map((k) => `${k}=${process.env[k]}`);
  return [`HOME=/home/${user}`, `USER=${user}`, `PATH=${process.env.PATH}`, "LANG=C.UTF-8", ...pass];
}

/** Runs `node --import tsx <script> args` as `user` in the readable repo; resolves with stdout once it exits. */
function asUser(ctxRepo: string, user: string, script: string, args: string[], opts: { stdinOpen?: boolean } = {}) {
  const child = spawn("runuser", ["-u", user, "--", "env", "-i", ...userEnv(user), process.execPath, "--import", "tsx", script, ...args], {
    cwd: ctxRepo,
    stdio: [opts.stdinOpen ? "pipe" : "ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code) => resolve({ code, stdout, stderr })),
  );
  /** The first complete stdout line, once printed. */
  const firstLine = new Promise<string>((resolve, reject) => {
    const check = () => {
      const nl = stdout.indexOf("\n");
      if (nl >= 0) resolve(stdout.slice(0, nl));
    };
    child.stdout!.on("data", check);
    child.on("close", () => reject(new Error(`${user} ${script} exited before printing: ${stderr.slice(-2000)}`)));
  });
  return { child, exited, firstLine };
}

const FIXTURE = "test/integration/rootless/fixtures/user-engine.ts";

test.before(async (ctx) => {
  assert.is(process.getuid!(), 0, "users.test.ts drives other users: it runs in the root pass");
  const made = spawnSync("bash", [join(repo, "scripts/rootless-users.sh")], { encoding: "utf8" });
  assert.is(made.status, 0, made.stderr);
  ctx.repo = readableRepo(repo, USERS[0]);
  ctx.root = await connect({ namespace: "svcd-test", serviceGracePeriodMs: 0 });
});
test.after(async (ctx) => {
  await ctx.root?.close();
  ctx.repo?.remove();
});

test("a user without sub-id ranges gets the prerequisite error with its fix, and nothing is left", async (ctx) => {
  const uid = uidOf("svcd-nosub");
  const runtime = `/tmp/svcd-${uid}`;
  const state = "/home/svcd-nosub/.local/share/svcd";
  spawnSync("rm", ["-rf", runtime, state]);
  const { exited } = asUser(ctx.repo.root, "svcd-nosub", FIXTURE, ["connect"]);
  const r = await exited;
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { ok: boolean; code: string; message: string; name: string };
  assert.is(out.ok, false, r.stdout);
  assert.is(out.code, "UNAVAILABLE");
  assert.is(out.name, "EngineUnavailableError");
  assert.match(out.message, /\/etc\/subuid/);
  assert.match(out.message, /usermod --add-subuids/);
  assert.not.ok(existsSync(runtime), `${runtime} was created`);
  assert.not.ok(existsSync(state), `${state} was created`);
  // The user's processes end with the fixture (tsx's esbuild helper a moment after it): none may stay.
  let left = "";
  for (const until = Date.now() + 5000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
    left = spawnSync("pgrep", ["-a", "-u", String(uid)], { encoding: "utf8" }).stdout.trim();
    if (left === "") break;
  }
  assert.is(left, "", `processes of svcd-nosub left: ${left}`);
});

test("two users run the seed example at once, beside a root engine serving a service", async (ctx) => {
  const web = ctx.root.container().from("busybox").withNewFile("/www/index.html", "root's").withExposedPort(8080)
    .withEntrypoint(["sh", "-c", "exec httpd -f -p 8080 -h /www"]).asService();
  await web.start();
  try {
    const runs = USERS.map((u) => asUser(ctx.repo.root, u, "scripts/demo.ts", []).exited);
    const rootAnswer = ctx.root.container().from("busybox").withServiceBinding("web", web).withExec(["wget", "-qO-", "http://web:8080/"]).stdout();
    const [mine, ...users] = await Promise.all([rootAnswer, ...runs]);
    for (const r of users) assert.is(r.stdout, "Hello, world!\n", r.stderr.slice(-3000));
    assert.is(mine, "root's");
  } finally {
    await web.stop();
  }
});

test("one user reaches nothing of another's: service, dirs, containerd socket, processes", async (ctx) => {
  const serve = asUser(ctx.repo.root, USERS[0], FIXTURE, ["serve", "svcd-test's secret"], { stdinOpen: true });
  try {
    const served = JSON.parse(await serve.firstLine) as { ip: string; body: string; runtime: string; socket: string; supervisor: number };
    assert.is(served.body, "svcd-test's secret");
    assert.ok(served.supervisor > 1, JSON.stringify(served));
    const probe = await asUser(ctx.repo.root, USERS[1], FIXTURE, ["probe", JSON.stringify(served)]).exited;
    const seen = JSON.parse(probe.stdout.trim().split("\n").pop() ?? "{}") as Record<string, string>;
    assert.is(seen.fromContainer, "blocked", probe.stdout + probe.stderr.slice(-2000));
    for (const k of ["listRuntime", "listState", "socket", "signal", "enter"]) assert.match(seen[k]!, /^denied/, `${k}: ${JSON.stringify(seen)}`);
    // The first user's own engine still serves it (the probe did not disturb anything).
    assert.ok(readdirSync("/proc").includes(String(served.supervisor)));
  } finally {
    serve.child.stdin!.end();
    const r = await serve.exited;
    assert.is(r.code, 0, r.stderr.slice(-2000));
  }
});

test.run();
