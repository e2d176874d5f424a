// The rig's containerd and images end to end, with containerd's own `ctr`: the test images pulled from the rig's
// registry over plain HTTP run under runc. Proves the images, not svcd's code (that is tested elsewhere).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { HostProcessRunner, runChecked } from "../../../src/common/process-runner.js";
import { ensureContainerdForTests, startPrivateContainerd, type TestContainerd } from "../../rig/containerd.js";
import { pushTestImages, startRegistry, type RunningRegistry } from "../../rig/registry.js";

const runner = new HostProcessRunner();
const namespace = `svcd-rig-test-${process.pid}`;
let containerd: TestContainerd | undefined;
let registry: RunningRegistry | undefined;

function ctr(...args: string[]) {
  assert.ok(containerd);
  return runChecked(runner, "ctr", ["--address", containerd.address, "-n", namespace, ...args], { timeoutMs: 120_000 });
}

test.before(async () => {
  containerd = await ensureContainerdForTests();
  registry = await startRegistry();
  await pushTestImages(registry.url);
});

test.after(async () => {
  if (containerd) {
    for (const ref of ["busybox", "python"]) {
      await runner.run("ctr", ["--address", containerd.address, "-n", namespace, "images", "rm", "--sync", `${registry?.host}/library/${ref}:latest`]);
    }
    await runner.run("ctr", ["--address", containerd.address, "namespaces", "remove", namespace]);
    await containerd.stop();
  }
  await registry?.stop();
});

test("busybox from the rig's registry runs echo", async () => {
  assert.ok(registry);
  const ref = `${registry.host}/library/busybox:latest`;
  await ctr("images", "pull", "--plain-http", ref);
  const out = await ctr("run", "--rm", ref, `rig-busybox-${process.pid}`, "sh", "-c", "echo hello; id -un; ls -d /tmp");
  assert.is(out.stdout, "hello\nroot\n/tmp\n");
});

test("python from the rig's registry runs python", async () => {
  assert.ok(registry);
  const ref = `${registry.host}/library/python:latest`;
  await ctr("images", "pull", "--plain-http", ref);
  const out = await ctr("run", "--rm", ref, `rig-python-${process.pid}`, "python", "-c", "print(6*7)");
  assert.is(out.stdout, "42\n");
});

test("a private containerd serves its socket and stop() removes it", async () => {
  const own = await startPrivateContainerd();
  try {
    const version = await runChecked(runner, "ctr", ["--address", own.address, "version"]);
    assert.match(version.stdout, /Server:/);
  } finally {
    await own.stop();
  }
  const after = await runner.run("ctr", ["--address", own.address, "--timeout", "1s", "version"]);
  assert.is.not(after.exitCode, 0);
});

test.run();
