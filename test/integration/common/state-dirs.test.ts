// Modes of the engine's state and runtime dirs, on the real filesystem after a real session (an exec with a cache
// volume and a service, so that hosts files, FIFOs, netns files, leases, locks, logs and volumes all exist): the roots
// 0711, every directory svcd makes below them 0700, nothing in them reachable by another local user, service logs
// 0600 — on fresh dirs, and on dirs an older install left with loose modes.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { connect } from "../../../src/index.js";
import { Paths } from "../../../src/common/paths.js";
import { ensurePrivateDir } from "../../../src/common/private-dir.js";

const saved = { state: process.env.SVCD_STATE_DIR, runtime: process.env.SVCD_RUNTIME_DIR };
const made: string[] = [];

function freshRoots(): Paths {
  const base = mkdtempSync("/run/svcd-modes-");
  made.push(base);
  chmodSync(base, 0o755);
  return new Paths({ state: join(base, "state"), runtime: join(base, "run") });
}

/** Everything under `root` another local user could open: an entry with 'other' bits behind traversable dirs. */
function reachableByOthers(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const st = lstatSync(path);
      if (st.isSymbolicLink()) continue;
      if ((st.mode & 0o007) !== 0) found.push(`${path} ${(st.mode & 0o777).toString(8)}`);
      if (st.isDirectory() && (st.mode & 0o001) !== 0) walk(path);
    }
  };
  walk(root);
  return found;
}

/** Directories under `root` (svcd's own, not host-local's lease dir or a volume's data) whose mode is not 0700. */
function looseDirs(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const st = lstatSync(path);
      if (!st.isDirectory()) continue;
      const mode = st.mode & 0o777;
      const foreign = name === "data" || path.includes("/ipam/svcd"); // a volume's data (0755 by design); CNI's own dir
      if (!foreign && mode !== 0o700) found.push(`${path} ${mode.toString(8)}`);
      if (!foreign) walk(path);
    }
  };
  walk(root);
  return found;
}

/** One session that makes every kind of state, leaves it for inspection while `inspect` runs, then closes. */
async function session(paths: Paths, inspect: () => void): Promise<void> {
  process.env.SVCD_STATE_DIR = paths.state;
  process.env.SVCD_RUNTIME_DIR = paths.runtime;
  const client = await connect({ namespace: "svcd-test", serviceGracePeriodMs: 0 });
  try {
    const svc = client.container().from("busybox").withEnvVariable("N", String(Date.now()))
      .withExposedPort(8080).asService({ args: ["sh", "-c", "echo serving; exec httpd -f -p 8080"] });
    await svc.start();
    const out = await client.container().from("busybox").withEnvVariable("N", String(Date.now()))
      .withMountedCache("/cache", client.cacheVolume(`modes-${process.pid}`))
      .withServiceBinding("www", svc)
      .withExec(["sh", "-c", "echo hi > /cache/f; wget -qO- http://www:8080/ >/dev/null 2>&1; echo done"]).stdout();
    assert.is(out, "done\n");
    inspect();
    await svc.stop();
  } finally {
    await client.close();
    process.env.SVCD_STATE_DIR = saved.state;
    process.env.SVCD_RUNTIME_DIR = saved.runtime;
  }
}

function assertModes(paths: Paths): void {
  assert.is(statSync(paths.state).mode & 0o777, 0o711, "state root");
  assert.is(statSync(paths.runtime).mode & 0o777, 0o711, "runtime root");
  assert.equal(looseDirs(paths.state), [], "state dirs");
  assert.equal(looseDirs(paths.runtime), [], "runtime dirs");
  assert.equal(reachableByOthers(paths.state), [], "state reachable by others");
  assert.equal(reachableByOthers(paths.runtime), [], "runtime reachable by others");
  const logs = readdirSync(paths.serviceLogsDir);
  assert.ok(logs.length > 0, "the service wrote a log");
  for (const f of logs) assert.is(statSync(join(paths.serviceLogsDir, f)).mode & 0o777, 0o600, f);
}

test.after(() => {
  for (const dir of made) {
    // A failed session may leave the netns dir's private bind mount; nothing else is mounted there.
    const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4] ?? "");
    for (const point of mounts.filter((p) => p.startsWith(dir + "/")).sort().reverse()) spawnSync("umount", ["-l", point]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("fresh state and runtime dirs: roots 0711, every dir below 0700, logs 0600, nothing reachable by others", async () => {
  const paths = freshRoots();
  await session(paths, () => {
    assert.ok(readdirSync(paths.hostsDir).length > 0, "hosts files exist while the session runs");
    assertModes(paths);
  });
  assertModes(paths);
});

test("dirs left with loose modes are tightened", async () => {
  const paths = freshRoots();
  for (const dir of [paths.state, paths.runtime]) mkdirSync(dir, { mode: 0o777 });
  for (const dir of [paths.serviceLogsDir, paths.hostsDir, paths.cacheVolumesDir, paths.locksDir, paths.ipamDir, paths.netnsDir]) {
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o777);
  }
  chmodSync(paths.state, 0o777);
  chmodSync(paths.runtime, 0o777);
  await session(paths, () => assertModes(paths));
});

test("the helper refuses a path outside both roots and a file in the way", async () => {
  const paths = freshRoots();
  const code = (p: Promise<unknown>) => p.then(() => "resolved", (err: { code?: string }) => err.code);
  assert.is(await code(ensurePrivateDir(paths, "/tmp/elsewhere")), "INTERNAL");
  mkdirSync(paths.runtime, { recursive: true });
  writeFileSync(join(paths.runtime, "hosts"), "");
  assert.is(await code(ensurePrivateDir(paths, paths.hostsDir)), "INTERNAL");
});

test.run();
