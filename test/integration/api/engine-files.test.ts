// What a container can do with the files the engine gives it: /etc/hosts and /etc/resolv.conf are read-only (a
// container cannot fill the host's /run through them), and cache volumes are nosuid,nodev (a setuid binary or a
// device node left on a volume — by another container or anyone — grants nothing; in rootless mode nobody the user
// engine acts as can make a device node at all).
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { type Client } from "../../../src/index.js";
import { connect } from "../../rig/connect.js";
import { enginePaths, engineRunner, rootless } from "../../rig/engine.js";

const test = suite<{ client: Client }>("engine files");
const unique = () => `t${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
const volumes: string[] = [];

test.before(async (ctx) => {
  ctx.client = await connect({ namespace: "svcd-test" });
});
test.after(async (ctx) => {
  await ctx.client.close();
  for (const v of volumes) rmSync(join(enginePaths().cacheVolumesDir, v), { recursive: true, force: true });
});

test("a container cannot write /etc/hosts or /etc/resolv.conf", async ({ client }) => {
  const out = await client.container().from("busybox").withEnvVariable("N", unique())
    .withExec(["sh", "-c", [
      "dd if=/dev/zero of=/etc/hosts bs=1M count=64 2>/dev/null && echo hosts-written || echo hosts-refused",
      "echo nameserver 1.2.3.4 >> /etc/resolv.conf 2>/dev/null && echo resolv-written || echo resolv-refused",
      "grep -c localhost /etc/hosts",
    ].join("; ")]).stdout();
  assert.is(out, "hosts-refused\nresolv-refused\n2\n");
});

test("a cache volume is mounted nosuid,nodev; a setuid binary on it runs without privilege", async ({ client }) => {
  const name = unique();
  volumes.push(name);
  const cache = client.cacheVolume(name);
  // The mount's own options (field 6 of mountinfo), as the kernel applies them inside the container.
  const line = await client.container().from("busybox").withEnvVariable("N", unique()).withMountedCache("/cache", cache)
    .withExec(["sh", "-c", "grep ' /cache ' /proc/self/mountinfo"]).stdout();
  const options = (line.split(" ")[5] ?? "").split(",");
  assert.ok(options.includes("nosuid") && options.includes("nodev"), line);
  // noNewPrivileges (the default) stops this too; nosuid holds where a container lifts it.
  await client.container().from("python").withEnvVariable("N", unique()).withMountedCache("/cache", cache)
    .withExec(["sh", "-c", "cp /usr/bin/python3 /cache/py && chmod 4755 /cache/py"]).sync();
  const out = await client.container().from("python").withEnvVariable("N", unique()).withMountedCache("/cache", cache)
    .withUser("65534")
    .withExec(["/cache/py", "-c", "import os; print(os.getuid(), os.geteuid())"]).stdout();
  assert.is(out, "65534 65534\n");
});

test("a device node on a cache volume cannot be opened", async ({ client }) => {
  const name = unique();
  volumes.push(name);
  const cache = client.cacheVolume(name);
  const onCache = () => client.container().from("busybox").withEnvVariable("N", unique()).withMountedCache("/cache", cache);
  await onCache().withExec(["true"]).sync();
  const node = join(enginePaths().cacheVolumesDir, name, "data", "null");
  if (!rootless) {
    // Made from the host side: however it got there (a container with MKNOD, a restored backup), it must do nothing.
    const made = spawnSync("mknod", [node, "c", "1", "3"], { encoding: "utf8" });
    assert.is(made.status, 0, made.stderr);
    const out = await onCache().withExec(["sh", "-c", "echo x > /cache/null 2>/dev/null && echo opened || echo refused"]).stdout();
    assert.is(out, "refused\n");
    return;
  }
  // Rootless: the kernel lets no user namespace but the initial one make a device node, so no one the user engine
  // acts as can put one on a volume: not the user on the host, not the engine's own helpers (root of its user
  // namespace), not a container with every capability. (One made by the real root would still meet nodev, which the
  // test above checks.)
  const host = spawnSync("mknod", [node, "c", "1", "3"], { encoding: "utf8" });
  assert.match(`${host.status} ${host.stderr}`, /^1 .*Operation not permitted/, "the user on the host");
  const helper = await engineRunner().run("mknod", [node, "c", "1", "3"]);
  assert.match(`${helper.exitCode} ${helper.stderr}`, /^1 .*Operation not permitted/, "the engine's namespace root");
  const out = await onCache().withExec(["sh", "-c", "mknod /cache/null c 1 3 2>&1; [ -e /cache/null ] && echo made || echo none"], { insecureRootCapabilities: true }).stdout();
  assert.match(out, /Operation not permitted\nnone\n$/, "a container with every capability");
});

test.run();
