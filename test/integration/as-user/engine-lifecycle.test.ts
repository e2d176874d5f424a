// Run only by the rootless pass: the user's engine as a thing that lives on its own. Started from a login-like shell
// that then hangs up, it survives (it is the user's engine, not the terminal's); stopManagedContainerd shuts it down
// cleanly (rootlesskit, supervisor and containerd gone, socket removed); a stale pid file naming a dead process and a
// stale socket file do not stop the next connect() from starting a fresh engine.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { connect } from "../../../src/index.js";
import { managedPids, stopManagedContainerd } from "../../../src/rootless/index.js";
import { enginePaths } from "../../rig/engine.js";

const paths = enginePaths();
const repo = fileURLToPath(new URL("../../../", import.meta.url));
const test = suite("rootless engine lifecycle");

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));

/** Waits (polling /proc, not our children) until every pid is gone; false after `ms`. */
async function gone(pids: number[], ms = 15_000): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; await new Promise((r) => setTimeout(r, 25))) {
    if (!pids.some((p) => existsSync(`/proc/${p}`) && alive(p))) return true;
  }
  return false;
}

/** rootlesskit's processes around the supervisor (they name its state dir). */
function rootlesskitPids(): number[] {
  const r = spawnSync("pgrep", ["-u", String(process.getuid!()), "-f", "--", `state-dir=${paths.rootlesskitState}`], { encoding: "utf8" });
  return r.stdout.trim().split("\n").filter(Boolean).map(Number);
}

test.before(() => {
  assert.ok(process.getuid!() !== 0, "this file is for the rootless pass: run it as an unprivileged user");
});

test("stopManagedContainerd shuts the user's engine down cleanly", async () => {
  await (await connect({ namespace: "svcd-test" })).close(); // make sure it runs
  const { supervisor, containerd } = managedPids(paths);
  const kit = rootlesskitPids();
  assert.ok(supervisor && containerd && kit.length > 0, `supervisor ${supervisor}, containerd ${containerd}, rootlesskit ${kit}`);
  assert.ok(await stopManagedContainerd(paths), "it was running");
  assert.ok(await gone([supervisor!, containerd!, ...kit]), "rootlesskit, the supervisor and containerd exit");
  assert.not.ok(existsSync(paths.containerdSocket), "socket removed");
  assert.not.ok(existsSync(paths.containerdPidFile), "pid file removed");
});

test("started from a shell that then hangs up, the engine lives on; stale pid file and socket are recovered", async () => {
  await stopManagedContainerd(paths); // none runs (the test before stopped it)
  // What a killed engine leaves: a pid file naming a dead process, a socket path with nothing behind it.
  const dead = spawnSync("true").pid!;
  writeFileSync(paths.containerdPidFile, `${dead} 1\n`);
  writeFileSync(paths.containerdSocket, "");
  // A shell in its own session (a terminal's), which starts the engine, then gets SIGHUP with its whole group.
  const shell = spawn("setsid", ["--wait", "bash", "-c", `node --import tsx ${repo}test/integration/as-user/fixtures/connect-once.ts; kill -HUP 0`], {
    cwd: repo,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  shell.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  shell.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  await new Promise((r) => shell.on("close", r));
  assert.is(out, "engine up\n", err.slice(-3000));
  const { supervisor, containerd } = managedPids(paths);
  assert.ok(supervisor && containerd, "the engine still runs after its shell's hangup");
  assert.ok(supervisor !== dead);
  // And it serves this process too.
  const c = await connect({ namespace: "svcd-test" });
  try {
    assert.is(await c.container().from("busybox").withExec(["echo", "still"]).stdout(), "still\n");
  } finally {
    await c.close();
  }
});

test.run();
