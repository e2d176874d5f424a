// The leak check finds what it claims to: state planted under a private pair of dirs (never this run's) — a process
// naming them, a mount, FIFO/netns/hosts/reserved entries, a PRIVATE copy, service logs past retention or with a loose
// mode — is reported, one line each, and nothing is once it is gone. Other runs' state is never looked at.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Paths } from "../../../src/common/paths.js";
import { HostProcessRunner } from "../../../src/common/process-runner.js";
import { NetnsFiles } from "../../../src/network/hub/netns-files.js";
import { startContainer } from "../../../src/runtime/index.js";
import { checkLeaks, describeTaskLeaks } from "../../rig/leak-check.js";
import { setup } from "../runtime/fixture.js";

const address = process.env.CONTAINERD_ADDRESS ?? "/run/containerd/containerd.sock";
const base = mkdtempSync("/run/svcd-leaks-");
const paths = new Paths({ state: join(base, "state"), runtime: join(base, "run") });
const env = { ...process.env, SVCD_SERVICE_LOG_RETENTION_MS: "60000" };

test.after(() => {
  spawnSync("umount", ["-l", join(paths.runtime, "mnt")]);
  rmSync(base, { recursive: true, force: true });
});

test("everything planted is found, and nothing once it is removed", async () => {
  assert.equal(await checkLeaks({ address, paths, env }), [], "a clean pair of dirs");
  for (const dir of [paths.fifoDir("c1"), paths.netnsDir, join(paths.hostsDir, "c2"), join(paths.ipamDir, "reserved"),
    join(paths.cacheVolumesDir, "vol", "private-abc"), paths.serviceLogsDir, join(paths.runtime, "mnt")]) {
    mkdirSync(dir, { recursive: true });
  }
  writeFileSync(join(paths.netnsDir, "ctr-c3"), "");
  writeFileSync(join(paths.ipamDir, "reserved", "10.87.255.254"), "1 2\n");
  writeFileSync(join(paths.ipamDir, "reserved", ".lock"), "");
  writeFileSync(join(paths.serviceLogsDir, "old.log"), "x", { mode: 0o600 });
  const old = (Date.now() - 120_000) / 1000;
  utimesSync(join(paths.serviceLogsDir, "old.log"), old, old);
  writeFileSync(join(paths.serviceLogsDir, "loose.log"), "x");
  chmodSync(join(paths.serviceLogsDir, "loose.log"), 0o644);
  assert.is(spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", join(paths.runtime, "mnt")]).status, 0);
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)", join(paths.runtime, "agent.sock")], { stdio: "ignore" });
  try {
    await new Promise((resolve) => child.once("spawn", resolve));
    const found = (await checkLeaks({ address, paths, env })).map((l) => l.replace(/^process: \d+ .*$/, "process"));
    assert.equal(found.sort(), [
      "fifo dir: c1",
      "hosts files: c2",
      `mount: ${join(paths.runtime, "mnt")}`,
      "netns file: ctr-c3",
      "private cache copy: vol/private-abc",
      "process",
      "reserved address: 10.87.255.254",
      "service log mode 644: loose.log",
      "service log past retention: old.log",
    ]);
  } finally {
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
  }
  spawnSync("umount", [join(paths.runtime, "mnt")]);
  for (const dir of [join(paths.runtime, "fifo"), paths.netnsDir, paths.hostsDir, join(paths.ipamDir, "reserved", "10.87.255.254"),
    join(paths.cacheVolumesDir, "vol", "private-abc"), paths.serviceLogsDir]) {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(await checkLeaks({ address, paths, env }), []);
});

test("in a hub netns that still exists: set and map elements, non-base chains and processes inside are found", async () => {
  const runner = new HostProcessRunner();
  const netns = new NetnsFiles({ dir: paths.netnsDir, runner });
  await netns.preparePrivateDir();
  await netns.create(paths.hubNetns);
  const nft = (script: string) => spawnSync("nsenter", [`--net=${paths.hubNetns}`, "nft", "-f", "-"], { input: script, encoding: "utf8" });
  let inside: ReturnType<typeof spawn> | undefined;
  try {
    const ruleset = [
      "table bridge t {",
      "  set s { type ipv4_addr; }",
      "  map m { type ipv4_addr : verdict; }",
      "  chain base { type filter hook forward priority 0; policy accept; }",
      "  chain session-x { }",
      "}",
    ].join("\n");
    assert.is(nft(ruleset).status, 0);
    assert.equal(await checkLeaks({ address, paths, env }), ["nftables non-base chain: bridge t session-x"], "empty sets and maps pass");
    assert.is(nft("add element bridge t s { 10.87.0.2 }\nadd element bridge t m { 10.87.0.3 : drop }").status, 0);
    // A process whose argv names nothing of ours: found only because it is inside the hub's netns.
    inside = spawn("nsenter", [`--net=${paths.hubNetns}`, "sh", "-c", "echo in; exec sleep 1000"], { stdio: ["ignore", "pipe", "ignore"] });
    await new Promise((resolve) => inside!.stdout!.once("data", resolve));
    const found = (await checkLeaks({ address, paths, env })).map((l) => l.replace(/^process: \d+ .*\(in netns hub\)$/, "process in hub"));
    assert.equal(found.sort(), [
      "nftables map with 1 elements: bridge t m",
      "nftables non-base chain: bridge t session-x",
      "nftables set with 1 elements: bridge t s",
      "process in hub",
    ]);
  } finally {
    inside?.kill("SIGKILL");
    if (inside) await new Promise((resolve) => inside!.once("exit", resolve));
    await netns.remove(paths.hubNetns);
    await netns.releasePrivateDir();
  }
  assert.equal(await checkLeaks({ address, paths, env }), []);
});

test("a leaked task is described with its state and the command line of every process still in it", async () => {
  const fx = await setup("leak-describe");
  const id = `described-${process.pid}`;
  const task = await startContainer(fx.client, { id, image: fx.image, paths: fx.paths, runner: fx.runner, args: ["sleep", "1000"] });
  try {
    let up!: () => void;
    const started = new Promise<void>((resolve) => (up = resolve));
    const exec = await task.exec(["sh", "-c", "echo up; exec sleep 999"], { onStdout: () => up() });
    await started;
    const [line, other] = await describeTaskLeaks(fx.client, [`task: ${fx.namespace}/${id}`, "mount: /x"]);
    assert.is(other, "mount: /x", "other findings pass through");
    assert.match(line!, new RegExp(`^task: ${fx.namespace}/${id} \\(RUNNING; processes: `));
    assert.match(line!, /\d+ [^,]*-- sleep 1000/, line); // the init, with its child's argv
    assert.match(line!, /\d+ sleep 999/, line);
    const [gone] = await describeTaskLeaks(fx.client, [`task: ${fx.namespace}/no-such-task`]);
    assert.match(gone!, /^task: \S+ \(not described: /);
    await exec.delete();
  } finally {
    await task.delete();
    await fx.close();
  }
});

test.run();
