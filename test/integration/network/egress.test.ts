// Egress against the real kernel and slirp4netns. Nothing leaves the machine: the outside of test/rig/outside.ts (as
// root a netns the test creates, joined to the host netns by a veth pair, host 10.99.21.1/30, outside 10.99.21.2/30)
// runs the HTTP server a container fetches from — container → hub bridge → masquerade → tap0 → slirp4netns (host
// netns) → server. As a user the hub and slirp4netns live in the user engine's namespaces; where /dev/net/tun is closed
// to the user (0600 root here) egress is off, and the test asserts that instead: why, the fix, and a working hub.
// Also: the host's 127.0.0.1 stays out of reach, bridged traffic still flows while routing the hub back onto itself
// does not, the last release stops slirp4netns, a SIGKILLed engine's slirp4netns is adopted and then stopped, and a
// slirp4netns that cannot run leaves a working hub whose status says "egress is off". Hub subnets 10.89.21-23.0/24.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Paths } from "../../../src/common/paths.js";
import type { ProcessRunner } from "../../../src/common/process-runner.js";
import { EgressError, HubNetwork, tunUnusableReason, type HubOptions } from "../../../src/network/index.js";
import { readSlirpRecord, recordAlive } from "../../../src/network/egress/slirp-record.js";
import { egressPossible, engineRunner, rootless, testPaths } from "../../rig/engine.js";
import { startOutside, type Outside } from "../../rig/outside.js";

const here = dirname(fileURLToPath(import.meta.url));
/** The engine's runner: the host as root, the user engine's namespaces (where its netns files are bound) otherwise. */
const runner = engineRunner();
const tunOpen = egressPossible();
const SUBNET = "10.89.21.0/24";
let outside: Outside | undefined;
const runtimes: string[] = [];
const hubs: HubNetwork[] = [];
const children: ChildProcess[] = [];

function freshPaths(): Paths {
  const paths = testPaths();
  runtimes.push(paths.runtime);
  return paths;
}

async function attach(opts: Partial<HubOptions> & { paths: Paths }): Promise<HubNetwork> {
  const hub = await HubNetwork.attach({ runner, subnet: SUBNET, ...opts });
  hubs.push(hub);
  return hub;
}

async function sh(file: string, args: string[]): Promise<string> {
  const r = await runner.run(file, args, { timeoutMs: 20_000 });
  if (r.exitCode !== 0) throw new Error(`${file} ${args.join(" ")}: exit ${r.exitCode}: ${r.stderr}`);
  return r.stdout;
}

/** Runs a Node script inside `netns`; resolves with its exit code and output. */
async function nodeIn(netns: string, script: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return runner.run("nsenter", [`--net=${netns}`, "--", process.execPath, "-e", script], { timeoutMs: 20_000 });
}

/** HTTP GET from inside `netns`: the body, or a failure as `ERR <code>`. */
async function httpGetFrom(netns: string, url: string): Promise<string> {
  const script =
    `require("http").get(${JSON.stringify(url)}, { timeout: 5000 }, (res) => { let d = ""; res.on("data", (x) => (d += x));` +
    ` res.on("end", () => process.stdout.write(d)); }).on("error", (e) => process.stdout.write("ERR " + (e.code || e.message)))` +
    `.on("timeout", function () { this.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })); });`;
  const r = await nodeIn(netns, script);
  assert.is(r.exitCode, 0, r.stderr);
  return r.stdout;
}

/** A TCP connect from inside `netns`: "connected" or `ERR <code>` (a 2 s timeout counts as ERR TIMEOUT). */
async function connectFrom(netns: string, ip: string, port: number): Promise<string> {
  const script =
    `const c = require("net").connect(${port}, ${JSON.stringify(ip)}, () => { process.stdout.write("connected"); c.destroy(); });` +
    `c.on("error", (e) => process.stdout.write("ERR " + e.code)); c.setTimeout(2000, () => { process.stdout.write("ERR TIMEOUT"); c.destroy(); });`;
  const r = await nodeIn(netns, script);
  assert.is(r.exitCode, 0, r.stderr);
  return r.stdout;
}

/** A long-lived Node process in `netns` running `script`, which prints "listening" once ready. */
async function serveIn(netns: string, script: string): Promise<ChildProcess> {
  const child = runner.spawn("nsenter", [`--net=${netns}`, "--", process.execPath, "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  const [line] = (await once(createInterface({ input: child.stdout! }), "line")) as [string];
  assert.is(line, "listening");
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGKILL");
  await exited;
}

/** The pid of the slirp4netns process recorded for `paths`, asserting it runs. */
async function slirpPid(paths: Paths): Promise<number> {
  const record = await readSlirpRecord(paths.egressPidFile);
  assert.ok(record, "a pid record");
  assert.ok(recordAlive(record!), "slirp4netns runs");
  assert.match(await sh("cat", [`/proc/${record!.pid}/cmdline`]), /^slirp4netns\0/);
  return record!.pid;
}

/** True when the process is gone or a zombie. */
function gone(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return true;
  }
  return /^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
}

test.before(async () => {
  if (!tunOpen) return;
  // The body names the peer the server saw: slirp4netns's own connection from the host side.
  outside = await startOutside({
    netns: `svcd-egress-test-${randomBytes(3).toString("hex")}`,
    veth: "svcd-eg21h",
    hostIp: "10.99.21.1",
    outsideIp: "10.99.21.2",
    greeting: "hello from outside",
    peer: true,
  });
});

/** The outside server's URL, and what it answers a container. */
const outsideUrl = () => `http://${outside!.ip}:${outside!.port}/`;
const outsideSays = () => `hello from outside, seen from ${outside!.seenFrom}`;

test.after(async () => {
  for (const hub of hubs) await hub.release().catch(() => {});
  for (const child of children) await stop(child);
  await outside?.stop();
  for (const runtime of runtimes) rmSync(runtime, { recursive: true, force: true });
});

// Egress on: root, or a user to whom /dev/net/tun is open.
if (tunOpen) {
  test("a container on the hub fetches from a server outside through slirp4netns; the last release stops it", async () => {
    const paths = freshPaths();
    const hub = await attach({ paths });
    assert.is(hub.egress.state, "on", hub.egress.state === "off" ? hub.egress.error.message : "");
    assert.equal(hub.nameservers, ["10.0.2.3"]);
    const pid = await slirpPid(paths);
    assert.match(await sh("nsenter", [`--net=${hub.netnsPath}`, "ip", "-o", "-4", "addr", "show", "dev", "tap0"]), / 10\.0\.2\.100\/24 /);
    assert.match(await sh("nsenter", [`--net=${hub.netnsPath}`, "ip", "link", "show", "dev", "tap0"]), / mtu 65520 /);
    assert.match(await sh("nsenter", [`--net=${hub.netnsPath}`, "nft", "list", "table", "ip", "svcd-nat"]), /masquerade/);
    // (A user engine cannot even list the host netns's tables: only root's run can look.)
    if (!rootless) assert.not.match(await sh("nft", ["list", "tables"]), /svcd-nat/, "the host's tables are untouched");

    const ctr = await hub.addContainer("egr-a");
    try {
      assert.is(await httpGetFrom(ctr.netnsPath, outsideUrl()), outsideSays());
    } finally {
      await hub.removeContainer("egr-a");
    }
    await hub.release();
    assert.ok(gone(pid), "slirp4netns stopped with the hub");
    assert.not.ok(existsSync(paths.egressPidFile), "pid record removed");
  });

  test("the host's loopback is not reachable through slirp's gateway (--disable-host-loopback)", async () => {
    let accepted = 0;
    const server: Server = createServer((c) => {
      accepted++;
      c.end("loopback\n");
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const port = (server.address() as { port: number }).port;
    const paths = freshPaths();
    const hub = await attach({ paths });
    const ctr = await hub.addContainer("egr-lo");
    try {
      assert.is(hub.egress.state, "on");
      assert.match(await connectFrom(ctr.netnsPath, "10.0.2.2", port), /^ERR /);
      assert.is(accepted, 0, "nothing reached the host's 127.0.0.1");
      // The same container does reach the outside server, so the refusal is slirp's, not a dead path.
      assert.is(await connectFrom(ctr.netnsPath, outside!.ip, outside!.port), "connected");
    } finally {
      server.close();
      await hub.removeContainer("egr-lo");
      await hub.release();
    }
  });

  test("with egress on, containers still talk over the bridge, but routing through the hub back onto the bridge is dropped", async () => {
    const paths = freshPaths();
    const hub = await attach({ paths, subnet: "10.89.22.0/24" });
    const a = await hub.addContainer("egr-b1");
    const b = await hub.addContainer("egr-b2");
    try {
      assert.is(hub.egress.state, "on");
      const server = await serveIn(b.netnsPath, `require("net").createServer((c) => { c.on("error", () => {}); c.end("b"); }).listen(8080, () => console.log("listening"))`);
      assert.is(await connectFrom(a.netnsPath, b.ip, 8080), "connected", "bridged");
      // Force a's packets for b through the hub's gateway (as a container could, to skip the bridge's session table).
      await sh("nsenter", [`--net=${a.netnsPath}`, "ip", "route", "add", `${b.ip}/32`, "via", hub.gateway]);
      assert.is(await connectFrom(a.netnsPath, b.ip, 8080), "ERR TIMEOUT", "routed hairpin dropped");
      await stop(server);
    } finally {
      await hub.removeContainer("egr-b1");
      await hub.removeContainer("egr-b2");
      await hub.release();
    }
  });

  test("a SIGKILLed engine's slirp4netns keeps serving, is adopted by the next attach, and stops with the last release", async () => {
    const paths = freshPaths();
    const holder = spawn(process.execPath, ["--import", "tsx", join(here, "fixtures/hub-holder.ts"), paths.runtime, SUBNET, "egr-dead"], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    children.push(holder);
    const [ready] = (await once(createInterface({ input: holder.stdout! }), "line")) as [string];
    assert.match(ready, /^ready /);
    const pid = await slirpPid(paths);
    const exited = once(holder, "exit");
    holder.kill("SIGKILL");
    await exited;
    assert.ok(recordAlive((await readSlirpRecord(paths.egressPidFile))!), "slirp4netns outlives the engine that started it");

    const hub = await attach({ paths });
    assert.is(hub.egress.state === "on" && hub.egress.egress.pid, pid, "adopted, not restarted");
    const ctr = await hub.addContainer("egr-c");
    assert.is(await httpGetFrom(ctr.netnsPath, outsideUrl()), outsideSays());
    await hub.removeContainer("egr-c");
    await hub.release();
    assert.ok(gone(pid), "stopped by the last release");
    assert.not.ok(existsSync(paths.egressPidFile));
  });

  test("a dead slirp4netns is replaced at the next attach", async () => {
    const paths = freshPaths();
    const first = await attach({ paths });
    const pid = await slirpPid(paths);
    process.kill(pid, "SIGKILL");
    while (!gone(pid)) await new Promise((resolve) => setImmediate(resolve));
    const second = await attach({ paths });
    assert.is(second.egress.state, "on");
    const next = await slirpPid(paths);
    assert.is.not(next, pid);
    const ctr = await second.addContainer("egr-d");
    assert.is(await httpGetFrom(ctr.netnsPath, outsideUrl()), outsideSays());
    await second.removeContainer("egr-d");
    await first.release();
    await second.release();
    assert.ok(gone(next));
  });
} else {
  test("a user refused /dev/net/tun: egress is off, saying why and the fix; the hub still works; nothing is started", async () => {
    const paths = freshPaths();
    const hub = await attach({ paths });
    assert.is(hub.egress.state, "off");
    const error = hub.egress.state === "off" ? hub.egress.error : undefined;
    assert.ok(error instanceof EgressError);
    assert.is(error!.code, "UNAVAILABLE");
    assert.is(error!.message, `egress is off: ${tunUnusableReason("EACCES", process.getuid!())}`);
    assert.match(error!.message, /not accessible to you .*chmod 0666 \/dev\/net\/tun/);
    assert.not.match(error!.message, /modprobe/);
    assert.equal(hub.nameservers, []);
    assert.not.ok(existsSync(paths.egressPidFile), "no slirp4netns record");
    const ctr = await hub.addContainer("egr-notun");
    assert.match(ctr.ip, /^10\.89\.21\./, "the hub works without egress");
    await hub.removeContainer("egr-notun");
    await hub.release();
  });
}

/** A runner that runs `replacement` instead of slirp4netns (everything else unchanged). */
function slirpReplacedBy(replacement: string): ProcessRunner {
  return {
    kind: "test",
    spawn: (file, args, options) => runner.spawn(file === "slirp4netns" ? replacement : file, args, options),
    run: (file, args, options) => runner.run(file, args, options),
  };
}

// slirp4netns is never tried without the tun device (the test above covers that case).
if (tunOpen) test("when slirp4netns is missing or fails, the hub works and egress says it is off, and why", async () => {
  for (const [replacement, why] of [
    ["/nonexistent/slirp4netns", /^egress is off: slirp4netns is not installed: apt-get install slirp4netns$/],
    ["false", /^egress is off: slirp4netns exited \(code 1\) before configuring tap0$/],
  ] as const) {
    const paths = freshPaths();
    const hub = await attach({ paths, runner: slirpReplacedBy(replacement), subnet: "10.89.23.0/24" });
    assert.is(hub.egress.state, "off");
    const error = hub.egress.state === "off" ? hub.egress.error : undefined;
    assert.ok(error instanceof EgressError);
    assert.is(error!.code, "UNAVAILABLE");
    assert.match(error!.message, why);
    assert.equal(hub.nameservers, []);
    assert.not.ok(existsSync(paths.egressPidFile), "no pid record");
    const ctr = await hub.addContainer("egr-off");
    assert.match(ctr.ip, /^10\.89\.23\./, "the hub works without egress");
    await hub.removeContainer("egr-off");
    await hub.release();
  }
});

test("egress: false starts nothing; an egress CIDR colliding with the hub fails the attach before anything exists", async () => {
  const paths = freshPaths();
  const hub = await attach({ paths, egress: false });
  assert.is(hub.egress.state, "off");
  assert.match(hub.egress.state === "off" ? hub.egress.error.message : "", /disabled/);
  assert.not.ok(existsSync(paths.egressPidFile));
  await hub.release();

  const other = freshPaths();
  try {
    await HubNetwork.attach({ paths: other, runner, subnet: SUBNET, egress: { cidr: "10.89.0.0/16" } });
    assert.unreachable("attach should fail");
  } catch (err) {
    assert.is((err as { code?: string }).code, "INVALID_ARGUMENT");
  }
  assert.not.ok(existsSync(other.hubNetns), "no hub created");
});

test.run();
