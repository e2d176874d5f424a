// The hub network against the real kernel and Debian's CNI plugins (as root, or in a user engine's namespaces): containers on the hub talk TCP to each
// other, the host netns gains nothing, leases and netns files go with their container, several holders (in this and
// other processes) share one hub, and the last one out removes it. Subnets 10.89.11.0/24 and 10.89.12.0/28.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { SvcdError } from "../../../src/common/errors.js";
import { Paths } from "../../../src/common/paths.js";
import { HubNetwork, type HubOptions } from "../../../src/network/index.js";
import { bridgeMac } from "../../../src/network/hub/hub-network.js";
import { NetnsFiles, defaultNetnsHelper } from "../../../src/network/hub/netns-files.js";
import { engineRunner, testPaths } from "../../rig/engine.js";

const here = dirname(fileURLToPath(import.meta.url));
/** Where the engine runs helpers: the netns files are bind mounts only its mount namespace has (rootless). */
const runner = engineRunner();
const SUBNET = "10.89.11.0/24";
const runtimes: string[] = [];
const hubs: HubNetwork[] = [];

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

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return SvcdError.is(err) ? err.code : `not-svcd: ${String(err)}`;
  }
}

async function sh(file: string, args: string[]): Promise<string> {
  const r = await runner.run(file, args, { timeoutMs: 20_000 });
  if (r.exitCode !== 0) throw new Error(`${file} ${args.join(" ")}: exit ${r.exitCode}: ${r.stderr}`);
  return r.stdout;
}

/**
 * Other test files' fixtures in the host netns: the egress tests' host-side veths are named svcd-<…> (svcd itself names
 * no host link so), and the root and rootless passes of `npm test` run side by side on one host netns.
 */
const FIXTURE_LINK = /^svcd-/;

/** Interface names of the host netns (the test's own), without other test files' fixtures. */
async function hostLinks(): Promise<string[]> {
  const out = await sh("ip", ["-o", "link", "show"]);
  return out.split("\n").filter(Boolean).map((l) => l.split(":")[1]!.trim().split("@")[0]!).filter((n) => !FIXTURE_LINK.test(n)).sort();
}

/** The host netns's routes, without those of other test files' fixture links. */
async function hostRoutes(): Promise<string> {
  const out = await sh("ip", ["-o", "route", "show", "table", "all"]);
  return out.split("\n").filter((l) => !/ dev svcd-/.test(l)).join("\n");
}

/** A tiny TCP server in `netns` on port 8080 answering "pong <tag>"; resolves once it listens. */
async function serveIn(netns: string, tag: string): Promise<ChildProcess> {
  const script = `require("net").createServer((c) => c.end("pong ${tag}\\n")).listen(8080, "0.0.0.0", () => console.log("listening"))`;
  const child = runner.spawn("nsenter", [`--net=${netns}`, process.execPath, "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  const [line] = (await once(createInterface({ input: child.stdout! }), "line")) as [string];
  assert.is(line, "listening");
  return child;
}

/** Connects from inside `netns` to ip:8080 and returns what the server said. */
async function fetchFrom(netns: string, ip: string): Promise<string> {
  const script =
    `const c = require("net").connect(8080, ${JSON.stringify(ip)}); let d = "";` +
    `c.on("data", (x) => (d += x)); c.on("end", () => process.stdout.write(d));` +
    `c.on("error", (e) => { console.error(e.message); process.exit(1); }); c.setTimeout(5000, () => process.exit(2));`;
  return sh("nsenter", [`--net=${netns}`, process.execPath, "-e", script]);
}

let linksBefore: string[] = [];
let routesBefore = "";

test.before(async () => {
  linksBefore = await hostLinks();
  routesBefore = await hostRoutes();
});

test.after(async () => {
  for (const hub of hubs) await hub.release().catch(() => {});
  for (const runtime of runtimes) rmSync(runtime, { recursive: true, force: true });
});

test("two holders share one hub; two containers get distinct IPs and talk TCP; removal frees lease and netns", async () => {
  const paths = freshPaths();
  const one = await attach({ paths });
  const two = await attach({ paths });
  assert.is(one.netnsPath, two.netnsPath);
  assert.is(one.netnsPath, paths.hubNetns);
  assert.is(one.subnet, SUBNET);
  assert.is(one.gateway, "10.89.11.1");
  assert.is(one.bridge, "svcd0");
  assert.match(await sh("nsenter", [`--net=${one.netnsPath}`, "ip", "-o", "-4", "addr", "show", "dev", "svcd0"]), " 10.89.11.1/24 ");

  const a = await one.addContainer("net-a");
  const b = await two.addContainer("net-b");
  assert.is(a.netnsPath, paths.containerNetns("net-a"));
  assert.is.not(a.ip, b.ip);
  assert.match(a.ip, /^10\.89\.11\.\d+$/);
  assert.match(await sh("nsenter", [`--net=${b.netnsPath}`, "ip", "-o", "-4", "addr", "show", "dev", "eth0"]), ` ${b.ip}/24 `);
  assert.equal(await one.listContainers(), ["net-a", "net-b"]);
  assert.ok(existsSync(join(paths.ipamDir, "svcd", a.ip)), "lease file");

  const server = await serveIn(a.netnsPath, "from-a");
  try {
    assert.is(await fetchFrom(b.netnsPath, a.ip), "pong from-a\n");
    assert.is(await fetchFrom(a.netnsPath, a.ip), "pong from-a\n", "hairpin / own address");
  } finally {
    server.kill("SIGKILL");
  }
  assert.equal(await hostLinks(), linksBefore, "the host netns gains no link");
  assert.is(await hostRoutes(), routesBefore, "nor a route");

  await one.removeContainer("net-a");
  assert.not.ok(existsSync(join(paths.ipamDir, "svcd", a.ip)), "lease gone");
  assert.not.ok(existsSync(a.netnsPath), "netns file gone");
  await one.removeContainer("net-a"); // idempotent
  assert.equal(await two.listContainers(), ["net-b"]);
  assert.is(await codeOf(one.addContainer("net-b")), "ALREADY_EXISTS");
  assert.equal(await two.listContainers(), ["net-b"], "a refused add leaves the existing one alone");

  await one.release();
  await one.release(); // idempotent
  assert.ok(existsSync(two.netnsPath), "the other holder keeps the hub");
  assert.is(await codeOf(one.addContainer("net-c")), "INTERNAL", "a released handle adds nothing");
  const c = await two.addContainer("net-c");
  assert.match(c.ip, /^10\.89\.11\.\d+$/, "the remaining holder still adds containers");

  await two.release(); // the last holder: orphans (net-b, net-c), the hub and its configs go
  assert.not.ok(existsSync(paths.hubNetns), "hub netns file gone");
  assert.not.ok(existsSync(b.netnsPath) || existsSync(c.netnsPath), "container netns files reaped");
  assert.not.ok(existsSync(paths.cniNetworkConfig), "CNI config gone");
  assert.equal(readdirSync(paths.netnsDir), []);
  assert.not.ok(existsSync(join(paths.ipamDir, "svcd")), "no leases");
  assert.equal(await hostLinks(), linksBefore);
  assert.not.ok((await hostLinks()).includes("svcd0"));
  const mounts = await sh("findmnt", ["-rn", "-o", "TARGET"]);
  assert.not.ok(mounts.includes(paths.runtime), "no mount left under the runtime dir");
});

test("isNetns tells a mounted netns from an absent file and from a crash's empty one, without a helper", async () => {
  const paths = freshPaths();
  const netns = new NetnsFiles({ dir: paths.netnsDir, runner });
  await netns.preparePrivateDir();
  const mounted = join(paths.netnsDir, "ctr-isnetns-a");
  const empty = join(paths.netnsDir, "ctr-isnetns-b");
  const spawned: string[] = [];
  const counting = new NetnsFiles({
    dir: paths.netnsDir,
    runner: {
      kind: runner.kind,
      ...(runner.userNamespace !== undefined ? { userNamespace: runner.userNamespace } : {}),
      run: (file, args, o) => (spawned.push(file), runner.run(file, args, o)),
      spawn: (file, args, o) => (spawned.push(file), runner.spawn(file, args, o)),
      ...(runner.helperView ? { helperView: (p: string) => runner.helperView!(p) } : {}),
    },
  });
  try {
    await netns.create(mounted);
    // What a crash between the file's creation and its mount leaves: an empty regular file (seen from here too).
    await runner.run("touch", [empty]);
    assert.equal(await Promise.all([mounted, empty, join(paths.netnsDir, "ctr-none")].map((p) => counting.isNetns(p))), [true, false, false]);
    assert.equal(spawned, [], "no helper process");
    await netns.remove(mounted);
    assert.is(await counting.isNetns(mounted), false, "after remove()");
  } finally {
    await netns.remove(mounted);
    await netns.remove(empty);
    await netns.releasePrivateDir();
  }
});

test("the netns helper and unshare → sh → ip make the same netns: IPv6 off, lo up only when asked; the helper in one process", async () => {
  const helper = defaultNetnsHelper();
  assert.ok(helper, "scripts/setup.sh builds build/svcd-netns");
  const paths = freshPaths();
  const spawned: string[] = [];
  const counting = {
    kind: runner.kind,
    ...(runner.userNamespace !== undefined ? { userNamespace: runner.userNamespace } : {}),
    run: (file: string, args: readonly string[], o?: Parameters<typeof runner.run>[2]) => (spawned.push(file), runner.run(file, args, o)),
    spawn: (file: string, args: readonly string[], o?: Parameters<typeof runner.spawn>[2]) => (spawned.push(file), runner.spawn(file, args, o)),
    ...(runner.helperView ? { helperView: (p: string) => runner.helperView!(p) } : {}),
  };
  const inNetns = async (file: string, args: string[]) => {
    const r = await runner.run("nsenter", [`--net=${file}`, "--", ...args]);
    assert.is(r.exitCode, 0, r.stderr);
    return r.stdout.trim();
  };
  const made: [NetnsFiles, string][] = [];
  try {
    for (const [name, files] of [
      ["helper", new NetnsFiles({ dir: paths.netnsDir, runner: counting, helper })],
      ["shell", new NetnsFiles({ dir: paths.netnsDir, runner: counting, helper: false })],
    ] as const) {
      await files.preparePrivateDir();
      for (const loopbackUp of [true, false]) {
        const file = join(paths.netnsDir, `ctr-${name}-${loopbackUp ? "up" : "down"}`);
        spawned.length = 0;
        await files.create(file, undefined, { loopbackUp });
        made.push([files, file]);
        assert.equal(spawned, [name === "helper" ? helper! : "unshare"], `${name}: the processes spawned`);
        assert.ok(await files.isNetns(file), `${name}: mounted`);
        assert.is(await inNetns(file, ["cat", "/proc/sys/net/ipv6/conf/all/disable_ipv6", "/proc/sys/net/ipv6/conf/default/disable_ipv6"]), "1\n1", `${name}: IPv6 off`);
        const links = (await inNetns(file, ["ip", "-o", "link", "show"])).split("\n");
        assert.is(links.length, 1, `${name}: only lo: ${links.join(" | ")}`);
        assert.is(/<[^>]*\bUP\b[^>]*>/.test(links[0]!), loopbackUp, `${name}, loopbackUp ${loopbackUp}: ${links[0]}`);
      }
    }
    // A file that exists is refused before either runs; a failed helper leaves no file.
    await codeOf(made[0]![0].create(made[0]![1])).then((code) => assert.is(code, "ALREADY_EXISTS"));
    const failing = new NetnsFiles({ dir: paths.netnsDir, runner, helper: "/bin/false" });
    const gone = join(paths.netnsDir, "ctr-failing");
    assert.ok(await codeOf(failing.create(gone)), "a failing helper fails the create");
    assert.not.ok(existsSync(gone), "and leaves no file");
  } finally {
    for (const [files, file] of made) await files.remove(file);
    await new NetnsFiles({ dir: paths.netnsDir, runner }).releasePrivateDir();
  }
  assert.equal(readdirSync(paths.netnsDir), []);
});

test("10 concurrent addContainer calls get 10 distinct IPs", async () => {
  const paths = freshPaths();
  const hub = await attach({ paths });
  const ids = Array.from({ length: 10 }, (_, i) => `conc-${i}`);
  const nets = await Promise.all(ids.map((id) => hub.addContainer(id)));
  assert.is(new Set(nets.map((n) => n.ip)).size, 10);
  assert.equal(await hub.listContainers(), [...ids].sort());
  await Promise.all(ids.map((id) => hub.removeContainer(id)));
  assert.equal(await hub.listContainers(), []);
  await hub.release();
  assert.not.ok(existsSync(paths.hubNetns));
});

test("the bridge keeps its own fixed MAC as ports come and go (the hub's neighbour entries and containers' gateway entries stay valid)", async () => {
  const paths = freshPaths();
  const hub = await attach({ paths });
  const bridgeMacNow = async () => /link\/ether ([0-9a-f:]{17})/.exec(await sh("nsenter", [`--net=${paths.hubNetns}`, "ip", "-o", "link", "show", "dev", hub.bridge]))![1]!;
  const fixed = bridgeMac(hub.gateway);
  assert.is(await bridgeMacNow(), fixed);
  // Ports with random MACs: a bridge left to itself would take the lowest of them, and change as they leave.
  const ids = Array.from({ length: 6 }, (_, i) => `mac-${i}`);
  await Promise.all(ids.map((id) => hub.addContainer(id)));
  assert.is(await bridgeMacNow(), fixed);
  for (const id of ids) {
    await hub.removeContainer(id);
    assert.is(await bridgeMacNow(), fixed, `after removing ${id}`);
  }
  await hub.release();
});

test("an exhausted range is a CniError with the plugin's message, and the failed add leaves nothing", async () => {
  const paths = freshPaths();
  // A /28 has 16 addresses: network, gateway, a 4-address reserved block and broadcast leave 10 for IPAM.
  const hub = await attach({ paths, subnet: "10.89.12.0/28" });
  assert.is(hub.reservedAddress(0), "10.89.12.13");
  const ids = Array.from({ length: 10 }, (_, i) => `full-${i}`);
  const nets = await Promise.all(ids.map((id) => hub.addContainer(id)));
  assert.ok(nets.every((n) => Number(n.ip.split(".")[3]) <= 11), "never a reserved address");
  try {
    await hub.addContainer("one-too-many");
    assert.unreachable("the range is full");
  } catch (err) {
    assert.ok(SvcdError.is(err));
    assert.is(err.code, "INTERNAL");
    assert.is(err.name, "CniError");
    assert.match(err.message, /no IP addresses available/);
  }
  assert.not.ok(existsSync(paths.containerNetns("one-too-many")));
  assert.not.ok((await hub.listContainers()).includes("one-too-many"));
  await hub.release();
  assert.not.ok(existsSync(paths.hubNetns));
});

test("bad input and a cancelled add are refused without leftovers", async () => {
  const paths = freshPaths();
  const hub = await attach({ paths });
  assert.is(await codeOf(attach({ paths, subnet: "10.89.13.0/24" })), "INVALID_ARGUMENT", "a held hub keeps its subnet");
  assert.is(await codeOf(HubNetwork.attach({ paths, runner, subnet: "10.89.11.0/33" })), "INVALID_ARGUMENT");
  const noPlugins = { ...process.env, SVCD_CNI_PATH: join(paths.runtime, "no-such-dir") };
  try {
    await HubNetwork.attach({ paths, runner, subnet: SUBNET, env: noPlugins });
    assert.unreachable("no plugins");
  } catch (err) {
    assert.ok(SvcdError.is(err) && err.code === "UNAVAILABLE");
    assert.match((err as Error).message, /apt-get install containernetworking-plugins/);
  }
  for (const id of ["../escape", "a b", "x\n", ""]) assert.is(await codeOf(hub.addContainer(id)), "INVALID_ARGUMENT", id);
  const ac = new AbortController();
  ac.abort();
  assert.is(await codeOf(hub.addContainer("cancelled", { signal: ac.signal })), "CANCELLED");
  assert.equal(await hub.listContainers(), []);
  await hub.release();
});

test("another process holding the hub keeps it; when it is SIGKILLed, the last release reaps its container", async () => {
  const paths = freshPaths();
  const holder = spawn(process.execPath, ["--import", "tsx", join(here, "fixtures/hub-holder.ts"), paths.runtime, SUBNET, "other-proc"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  try {
    const lines = createInterface({ input: holder.stdout! });
    const [ready] = (await once(lines, "line")) as [string];
    const otherIp = ready.split(" ")[1]!;
    const hub = await attach({ paths });
    const mine = await hub.addContainer("this-proc");
    const server = await serveIn(mine.netnsPath, "this");
    try {
      assert.is(await fetchFrom(paths.containerNetns("other-proc"), mine.ip), "pong this\n", "across engine processes");
    } finally {
      server.kill("SIGKILL");
    }
    await hub.removeContainer("this-proc");
    await hub.release();
    assert.ok(existsSync(paths.hubNetns), "the other process still holds the hub");

    holder.kill("SIGKILL");
    await once(holder, "exit");
    const last = await attach({ paths });
    assert.equal(await last.listContainers(), [], "attaching alone reaped the dead holder's container");
    assert.not.ok(existsSync(join(paths.ipamDir, "svcd", otherIp)));
    await last.release();
    assert.not.ok(existsSync(paths.hubNetns));
  } finally {
    holder.kill("SIGKILL");
  }
});

test("a cooperative second process releasing first leaves the hub to us", async () => {
  const paths = freshPaths();
  const hub = await attach({ paths });
  const holder = spawn(process.execPath, ["--import", "tsx", join(here, "fixtures/hub-holder.ts"), paths.runtime, SUBNET, "coop"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  try {
    const lines = createInterface({ input: holder.stdout! })[Symbol.asyncIterator]();
    assert.match((await lines.next()).value, /^ready 10\.89\.11\.\d+$/);
    holder.stdin!.write("release\n");
    assert.is((await lines.next()).value, "released");
    assert.ok(existsSync(paths.hubNetns), "we still hold it");
    assert.equal(await hub.listContainers(), []);
  } finally {
    holder.kill("SIGKILL");
  }
  await hub.release();
  assert.not.ok(existsSync(paths.hubNetns));
});

test("the host netns has no new links or routes after all of it", async () => {
  assert.equal(await hostLinks(), linksBefore);
  assert.is(await hostRoutes(), routesBefore);
});

test.run();
