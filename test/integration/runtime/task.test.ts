// startContainer's RunningTask against the real containerd: the init forwards SIGTERM, exec, the container record
// ctr can read, cgroups, an exited task's rootfs committed before its delete, reading files from a snapshot.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import {
  INIT_TARGET,
  readSnapshotFile,
  readSnapshotFiles,
  runContainer,
  startContainer,
  type StartContainerOptions,
} from "../../../src/runtime/index.js";
import { rootless } from "../../rig/engine.js";
import { ctr, rejectsWithCode, setup, type Fixture } from "./fixture.js";

let fx: Fixture;
let n = 0;

test.before(async () => {
  fx = await setup("task");
});
test.after(async () => {
  await fx?.close();
});

function opts(extra: Partial<StartContainerOptions>): StartContainerOptions {
  return { id: `task-${process.pid}-${++n}`, image: fx.image, paths: fx.paths, runner: fx.runner, ...extra };
}

function assertNoLeaks(): void {
  assert.equal(fx.leaks(), { containers: [], tasks: [], activeSnapshots: [], fifoDirs: [] });
}

test("SIGTERM stops a shell that would ignore it as PID 1, thanks to the init", async () => {
  // Without an init, sh is PID 1: the kernel drops signals it has no handler for, so SIGTERM does nothing.
  const bare = await startContainer(fx.client, opts({ args: ["sh", "-c", "sleep 1000; true"], init: false }));
  try {
    await bare.kill("SIGTERM");
    const alive = await bare.execRun(["true"]); // kill(2) delivered (and dropped) synchronously: still running
    assert.is(alive.exitCode, 0);
  } finally {
    await bare.delete();
  }
  const task = await startContainer(fx.client, opts({ args: ["sh", "-c", "sleep 1000; true"] }));
  try {
    await task.kill("SIGTERM");
    const { exitCode } = await task.wait();
    assert.is(exitCode, 143); // tini reports 128 + SIGTERM
  } finally {
    await task.delete();
  }
  assertNoLeaks();
});

test("exec into a running task: env, cwd, user, stdin, exit code, own output", async () => {
  const task = await startContainer(fx.client, opts({ args: ["sleep", "1000"], env: { BASE: "1" } }));
  try {
    const a = await task.execRun(["sh", "-c", 'echo "$BASE $EXTRA $(pwd) $(id -u)"; echo e >&2; exit 4'], { env: { EXTRA: "x" }, cwd: "/tmp", user: { uid: 65534, gid: 65534 } });
    assert.is(a.exitCode, 4);
    assert.is(a.stdout.toString(), "1 x /tmp 65534\n");
    assert.is(a.stderr.toString(), "e\n");
    const b = await task.execRun(["cat"], { stdin: "piped\n" });
    assert.is(b.stdout.toString(), "piped\n");
    const ac = new AbortController();
    const p = task.execRun(["sh", "-c", "echo go; sleep 1000"], { signal: ac.signal, onStdout: () => ac.abort() });
    await rejectsWithCode(p, "CANCELLED");
    assert.equal(task.output().stdout.length, 0); // exec output never mixes into the task's
  } finally {
    await task.delete();
  }
  assertNoLeaks();
});

test("ctr containers info reads the container svcd created; cgroup /<ns>/<id> as root, none rootless", async () => {
  const o = opts({ args: ["sleep", "1000"], labels: { "example.com/x": "y" } });
  const task = await startContainer(fx.client, o);
  try {
    const info = JSON.parse(ctr(fx.namespace, "containers", "info", o.id));
    assert.is(info.Runtime.Name, "io.containerd.runc.v2");
    assert.is(info.Image, "docker.io/library/busybox:latest");
    assert.is(info.Labels["example.com/x"], "y");
    assert.is(info.Labels["svcd.io/owner.pid"], String(process.pid));
    assert.equal(info.Spec.process.args, [INIT_TARGET, "--", "sleep", "1000"]);
    if (rootless) {
      // The user engine's runc may not create cgroups (v1 here, no delegated v2 subtree): none, and no limits.
      assert.is(info.Spec.linux.cgroupsPath, undefined, "a rootless container has no cgroupsPath");
      assert.is(info.Spec.linux.resources, undefined, "nor resources");
      assert.not.ok(existsSync(`/sys/fs/cgroup/pids/${fx.namespace}/${o.id}`));
    } else {
      assert.is(info.Spec.linux.cgroupsPath, `/${fx.namespace}/${o.id}`);
      const procs = readFileSync(`/sys/fs/cgroup/pids/${fx.namespace}/${o.id}/cgroup.procs`, "utf8").trim().split("\n").map(Number);
      assert.ok(procs.includes(task.pid), `pid ${task.pid} in ${procs}`);
    }
    const tasks = ctr(fx.namespace, "tasks", "ls");
    assert.match(tasks, new RegExp(`${o.id}\\s+${task.pid}\\s+RUNNING`));
  } finally {
    await task.delete();
  }
  assert.not.ok(existsSync(`/sys/fs/cgroup/pids/${fx.namespace}/${o.id}`));
  assertNoLeaks();
});

test("an exited task's rootfs can be committed before delete(): its changes, not the init's; delete() keeps the commit", async () => {
  const o = opts({ args: ["sh", "-c", "echo data > /tmp/made-here; exit 5"], user: "nobody:nobody" });
  const name = `${o.id}-committed`;
  const task = await startContainer(fx.client, o);
  let upperFiles: string[] = [];
  let madeBy = -1;
  try {
    assert.is((await task.wait()).exitCode, 5);
    assert.equal(task.rootfs, { snapshotter: "overlayfs", key: o.id });
    const { mounts } = await fx.client.snapshots.mounts(task.rootfs);
    const upper = mounts[0]?.options.find((x) => x.startsWith("upperdir="))?.slice("upperdir=".length);
    assert.ok(upper, JSON.stringify(mounts));
    upperFiles = walk(upper!).map((f) => relative(upper!, f)).sort();
    // The owner as the engine sees it: rootless, the host sees the sub-uid nobody maps to.
    const owner = await fx.runner.run("stat", ["-c", "%u", join(upper!, "tmp", "made-here")]);
    assert.is(owner.exitCode, 0, owner.stderr);
    madeBy = Number(owner.stdout.trim());
    // Rooted: nothing else (no lease, no container) holds it once the task is deleted, and GC would take it.
    await fx.client.snapshots.commit({ snapshotter: task.rootfs.snapshotter, name, key: task.rootfs.key, labels: { "containerd.io/gc.root": "test" } });
  } finally {
    await task.delete();
  }
  // The init under /dev/.svcd left nothing; "run" is runc creating the /run tmpfs mountpoint this image lacks.
  assert.equal(upperFiles, ["run", "tmp", "tmp/made-here"]);
  assert.is(madeBy, 65534);
  assertNoLeaks(); // the task, the container and the FIFOs are gone, and no active snapshot is left
  const { info } = await fx.client.snapshots.stat({ snapshotter: "overlayfs", key: name });
  await fx.client.snapshots.remove({ snapshotter: "overlayfs", key: name });
  assert.is(info?.name, name);
});

test("beforeStart runs with the task created and its process not yet started; a throw fails the start and cleans up", async () => {
  const seen: string[] = [];
  const id = `task-${process.pid}-${++n}`;
  const task = await startContainer(fx.client, {
    ...opts({ args: ["true"] }),
    id,
    beforeStart: async () => {
      const info = await fx.client.tasks.get({ container_id: id });
      seen.push(info.process?.status ?? "none");
    },
  });
  await task.wait();
  await task.delete();
  assert.equal(seen, ["CREATED"]);
  const gateError = new Error("port not admitted");
  const p = runContainer(fx.client, opts({ args: ["true"], beforeStart: async () => { throw gateError; } }));
  await p.then(
    () => assert.unreachable("should reject"),
    (e: unknown) => assert.is(e, gateError),
  );
  assertNoLeaks();
});

test("reading files from a snapshot with the static busybox", async () => {
  const ro = { parent: fx.image.chainId, snapshotter: "overlayfs", paths: fx.paths, runner: fx.runner };
  const passwd = await readSnapshotFile(fx.client, "/etc/passwd", ro);
  assert.match(passwd.toString(), /^nobody:x:65534:65534:/m);
  const [group, missing, dir] = await readSnapshotFiles(fx.client, ["/etc/group", "/nope", "/etc"], ro);
  assert.match(group!.toString(), /^nobody:x:65534:/m);
  assert.is(missing, undefined);
  assert.is(dir, undefined);
  const busybox = await readSnapshotFile(fx.client, "/bin/busybox", ro);
  assert.ok(busybox.equals(readFileSync("/bin/busybox")), "binary file intact");
  await rejectsWithCode(readSnapshotFile(fx.client, "/nope", ro), "NOT_FOUND");
  await rejectsWithCode(readSnapshotFile(fx.client, "relative", ro), "INVALID_ARGUMENT");
  assertNoLeaks();
});

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    out.push(p);
    if (e.isDirectory()) out.push(...walk(p));
  }
  return out;
}

test.run();
