// Session isolation on the hub against the real kernel, nft and CNI plugins, with peers stronger than any container:
// every probe runs as root (the user namespace's, in the rootless pass) in a container netns (`nsenter --net=…`, all capabilities), so it may change its MAC and
// addresses, turn IPv6 back on and send raw frames. Sessions A (a1, a2) and B (b1); each probe of B against A is
// paired with the same probe inside A, so nothing passes by dropping everything. Observation is at the receiver:
// listeners print each tagged datagram or frame; a marker sent last from a2 closes each round (veth hands a frame
// to the bridge and on to the receiving netns in the sender's softirq, before sendto returns, so order is kept).
// Subnet 10.89.21.0/24.
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Paths } from "../../../src/common/paths.js";
import { HubNetwork, SessionFirewall, type ContainerNetwork } from "../../../src/network/index.js";
import { engineRunner, testRuntimeDir } from "../../rig/engine.js";

const here = dirname(fileURLToPath(import.meta.url));
const FRAMES = join(here, "fixtures/frames.py");
/** The engine's runner: as root the host, rootless the user engine's namespaces (where its netns files are bound). */
const runner = engineRunner();
const A = "aaaaaaaaaaaaa";
const B = "bbbbbbbbbbbbb";
const SUBNET = "10.89.21.0/24";
const HOST_SERVICE_IP = "10.89.21.250";
const children: ChildProcess[] = [];
let runtime = "";
let hub: HubNetwork;
let firewall: SessionFirewall;
let a1: ContainerNetwork, a2: ContainerNetwork, b1: ContainerNetwork;

async function sh(file: string, args: string[], input?: string): Promise<string> {
  const r = await runner.run(file, args, { timeoutMs: 20_000, ...(input !== undefined ? { input } : {}) });
  if (r.exitCode !== 0) throw new Error(`${file} ${args.join(" ")}: exit ${r.exitCode}: ${r.stderr}`);
  return r.stdout;
}
const inNs = (netns: string, args: string[]) => sh("nsenter", [`--net=${netns}`, "--", ...args]);
const ok = async (p: Promise<unknown>) => p.then(() => true, () => false);
const frames = (netns: string, args: string[]) => inNs(netns, ["/usr/bin/python3", FRAMES, ...args]);

/** A listener (frames.py udp-listen/raw-listen/arp-listen) in `netns`; resolves once it is ready. */
async function listen(netns: string, args: string[]): Promise<Interface> {
  const child = runner.spawn("nsenter", [`--net=${netns}`, "--", "/usr/bin/python3", FRAMES, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  const lines = createInterface({ input: child.stdout! });
  const it = lines[Symbol.asyncIterator]();
  assert.is((await it.next()).value, "ready");
  (lines as Interface & { it: AsyncIterator<string> }).it = it;
  return lines;
}

/** Lines a listener printed before the one matching `marker` (which it must print within 5 s: a bound, not a wait). */
async function until(lines: Interface, marker: RegExp): Promise<string[]> {
  const it = (lines as Interface & { it: AsyncIterator<string> }).it;
  const seen: string[] = [];
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no ${marker} within 5 s; saw: ${seen.join(" | ")}`)), 5000);
    });
    const next = await Promise.race([it.next(), bound]).finally(() => clearTimeout(timer));
    if (next.done) throw new Error(`listener ended before ${marker}: ${seen.join(" | ")}`);
    if (marker.test(next.value)) return seen;
    seen.push(next.value);
  }
}

/** a2's marker to a1's UDP listener on `port` (IPv4 unicast: always allowed within a session). */
const marker = (port: number, tag: string) => frames(a2.netnsPath, ["udp-send", a1.ip, String(port), tag]);

async function macOf(netns: string): Promise<string> {
  const out = await inNs(netns, ["ip", "-o", "link", "show", "dev", "eth0"]);
  return /link\/ether ([0-9a-f:]{17})/.exec(out)![1]!;
}

/** IPv6 back on in `netns` (what a privileged container may do); its eth0's link-local address. */
async function ipv6On(netns: string): Promise<string> {
  await inNs(netns, ["sysctl", "-q", "-w", "net.ipv6.conf.eth0.accept_dad=0", "net.ipv6.conf.all.disable_ipv6=0", "net.ipv6.conf.eth0.disable_ipv6=0"]);
  const out = await inNs(netns, ["ip", "-o", "-6", "addr", "show", "dev", "eth0", "scope", "link"]);
  return /inet6 (fe80:[0-9a-f:]+)\//.exec(out)![1]!;
}

/** A TCP server in `netns` on `host`:`port` answering "pong"; resolves once it listens. */
async function serveTcp(netns: string, host: string, port = 8080): Promise<void> {
  const script = `require("net").createServer((c) => c.end("pong")).listen({ port: ${port}, host: ${JSON.stringify(host)}, ipv6Only: true }, () => console.log("listening"))`;
  const child = runner.spawn("nsenter", [`--net=${netns}`, process.execPath, "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  const it = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  assert.is((await it.next()).value, "listening");
}

/** Connects from `netns` to host:port (host may be `fe80::…%eth0`); resolves what the server said. */
function tcpFrom(netns: string, host: string, port = 8080): Promise<string> {
  const [address, scope] = host.split("%");
  const target = JSON.stringify(scope ? `${address}%${scope}` : address);
  const script =
    `const c = require("net").connect({ port: ${port}, host: ${target} }); let d = "";` +
    `c.on("data", (x) => (d += x)); c.on("end", () => process.stdout.write(d));` +
    `c.on("error", (e) => { console.error(e.message); process.exit(1); }); c.setTimeout(1500, () => process.exit(2));`;
  return inNs(netns, [process.execPath, "-e", script]);
}

const ping = (netns: string, ip: string) => inNs(netns, ["busybox", ip.includes(":") ? "ping6" : "ping", "-c", "1", "-W", "1", ip]);

test.before(async () => {
  runtime = testRuntimeDir("svcd-test-iso-");
  const paths = new Paths({ state: join(runtime, "state"), runtime });
  hub = await HubNetwork.attach({ paths, runner, subnet: SUBNET, egress: false });
  firewall = new SessionFirewall(hub.netnsPath, runner);
  [a1, a2, b1] = await Promise.all(["iso-a1", "iso-a2", "iso-b1"].map((id) => hub.addContainer(id)));
  await firewall.admitContainer(A, a1!);
  await firewall.admitContainer(A, a2!);
  await firewall.admitContainer(B, b1!);
});

test.after(async () => {
  for (const child of children) child.kill("SIGKILL");
  await hub?.release().catch(() => {});
  if (runtime) rmSync(runtime, { recursive: true, force: true });
});

test("the CNI result names the port and MAC; IPv6 is off in every netns the hub makes", async () => {
  assert.is(a1.mac, await macOf(a1.netnsPath));
  assert.match(a1.hostVeth, /^veth[0-9a-f]{8}$/);
  const ports = await inNs(hub.netnsPath, ["ip", "-o", "link", "show", "master", "svcd0"]);
  for (const c of [a1, a2, b1]) assert.ok(ports.includes(` ${c.hostVeth}@`), c.hostVeth);
  for (const netns of [a1.netnsPath, hub.netnsPath]) {
    assert.is(await inNs(netns, ["sysctl", "-n", "net.ipv6.conf.all.disable_ipv6"]), "1\n");
    assert.is(await inNs(netns, ["ip", "-o", "-6", "addr", "show"]), "");
  }
  assert.match(await inNs(hub.netnsPath, ["ip", "-d", "link", "show", "svcd0"]), /no_linklocal_learn 1/);
});

test("IPv4 unicast, broadcast, subnet broadcast and multicast reach the same session only", async () => {
  await serveTcp(a1.netnsPath, "0.0.0.0");
  assert.is(await tcpFrom(a2.netnsPath, a1.ip), "pong", "same session, TCP");
  assert.not.ok(await ok(tcpFrom(b1.netnsPath, a1.ip)), "other session, TCP");
  assert.not.ok(await ok(ping(b1.netnsPath, a1.ip)), "other session, ping");
  const udp = await listen(a1.netnsPath, ["udp-listen", "7001"]);
  const targets = { unicast: a1.ip, bcast: "255.255.255.255", subnet: "10.89.21.255", mcast: "224.0.0.1" };
  for (const [name, dst] of Object.entries(targets)) {
    await frames(b1.netnsPath, ["udp-send", dst, "7001", `b-${name}`]);
    await frames(a2.netnsPath, ["udp-send", dst, "7001", `a2-${name}`]);
  }
  await marker(7001, "end");
  const got = (await until(udp, / end$/)).map((l) => l.split(" ")[1]).sort();
  assert.equal(got, ["a2-bcast", "a2-mcast", "a2-subnet", "a2-unicast"]);
});

test("IPv6 link-local, TCP over it and ff02::1 are dropped even with IPv6 turned back on at both ends", async () => {
  const [la1] = await Promise.all([ipv6On(a1.netnsPath), ipv6On(a2.netnsPath), ipv6On(b1.netnsPath)]);
  await serveTcp(a1.netnsPath, "::", 8086);
  assert.is(await tcpFrom(a1.netnsPath, `${la1}%eth0`, 8086), "pong", "the listener takes IPv6 (from its own netns)");
  assert.not.ok(await ok(ping(b1.netnsPath, `${la1}%eth0`)), "ping6 link-local");
  assert.not.ok(await ok(tcpFrom(b1.netnsPath, `${la1}%eth0`, 8086)), "TCP over link-local");
  assert.not.ok(await ok(tcpFrom(a2.netnsPath, `${la1}%eth0`, 8086)), "nor from the same session: no IPv6 on the hub");
  const raw = await listen(a1.netnsPath, ["raw-listen", "eth0"]);
  await frames(b1.netnsPath, ["udp-send", `${la1}%eth0`, "7002", "b-ll"]);
  await frames(b1.netnsPath, ["udp-send", "ff02::1%eth0", "7002", "b-ff02"]);
  // The hub carries no IPv6 at all: inside session A it is dropped too (IPv4 below still arrives).
  await frames(a2.netnsPath, ["udp-send", "ff02::1%eth0", "7002", "a2-ff02"]);
  await marker(7002, "end6");
  assert.equal(await until(raw, / end6$/), []);
});

test("a changed MAC sends nothing and poisons no FDB entry; traffic to the real owner still reaches it", async () => {
  const macA1 = a1.mac;
  const udp = await listen(a1.netnsPath, ["udp-listen", "7003"]);
  await marker(7003, "warm"); // a2 resolves a1 now, so the frames below are unicast to a1's MAC
  await until(udp, / warm$/);
  await inNs(b1.netnsPath, ["ip", "link", "set", "dev", "eth0", "address", macA1]);
  try {
    await frames(b1.netnsPath, ["udp-send", "255.255.255.255", "7003", "b-spoofed-mac"]);
    await frames(b1.netnsPath, ["raw-send", "eth0", macA1, "ff:ff:ff:ff:ff:ff", "88b5", "b-spoofed-raw"]);
    await frames(b1.netnsPath, ["raw-send", "eth0", macA1, "01:80:c2:00:00:0e", "88cc", "b-lldp"]);
    const fdb = await inNs(hub.netnsPath, ["bridge", "fdb", "show", "br", "svcd0"]);
    assert.ok(fdb.includes(`${macA1} dev ${a1.hostVeth} `), fdb);
    assert.not.ok(fdb.includes(`${macA1} dev ${b1.hostVeth} `), fdb);
    // Unicast to a1's MAC goes to one port: had b1 taken it over in the FDB, a1 would not get this.
    await marker(7003, "after");
    assert.equal(await until(udp, / after$/), [], "nothing from b1 under a1's MAC");
  } finally {
    await inNs(b1.netnsPath, ["ip", "link", "set", "dev", "eth0", "address", b1.mac]);
  }
});

test("another session's address as source is dropped; so are gratuitous ARP and probes claiming it", async () => {
  const udp = await listen(a1.netnsPath, ["udp-listen", "7004"]);
  const rawA1 = await listen(a1.netnsPath, ["raw-listen", "eth0"]);
  await inNs(b1.netnsPath, ["ip", "addr", "add", `${a2.ip}/32`, "dev", "eth0"]);
  try {
    await inNs(b1.netnsPath, ["ip", "neigh", "replace", a1.ip, "lladdr", a1.mac, "dev", "eth0"]);
    await frames(b1.netnsPath, ["udp-send", a1.ip, "7004", "b-as-a2", a2.ip]);
    // Gratuitous ARP (reply and request forms) and a probe from 0.0.0.0, each claiming a1's address for b1's MAC.
    await frames(b1.netnsPath, ["arp-send", "eth0", "2", b1.mac, b1.mac, a1.ip, a1.ip, "b-garp-reply"]);
    await frames(b1.netnsPath, ["arp-send", "eth0", "1", b1.mac, b1.mac, a1.ip, a1.ip, "b-garp-req"]);
    await frames(b1.netnsPath, ["arp-send", "eth0", "1", b1.mac, b1.mac, "0.0.0.0", a1.ip, "b-probe"]);
    await frames(b1.netnsPath, ["arp-send", "eth0", "2", a1.mac, a1.mac, a2.ip, a2.ip, "b-garp-as-a1"]);
    // The same session's own gratuitous ARP is carried.
    await frames(a2.netnsPath, ["arp-send", "eth0", "2", a2.mac, a2.mac, a2.ip, a2.ip, "a2-garp"]);
    await marker(7004, "end");
    assert.equal(await until(udp, / end$/), [], "no datagram from b1 with a2's address");
    assert.equal((await until(rawA1, / end$/)).map((l) => l.split(" ")[2]), ["a2-garp"]);
    const neigh = await inNs(a2.netnsPath, ["ip", "neigh", "show", a1.ip]);
    assert.ok(neigh.includes(a1.mac), `a2's neighbour entry for a1 keeps a1's MAC: ${neigh}`);
    assert.is(await tcpFrom(a2.netnsPath, a1.ip), "pong", "a1 still reached by a2");
  } finally {
    await inNs(b1.netnsPath, ["ip", "addr", "del", `${a2.ip}/32`, "dev", "eth0"]);
  }
});

test("raw frames (odd ethertype, VLAN tag) do not cross; the hub carries only IPv4 and ARP", async () => {
  const raw = await listen(a1.netnsPath, ["raw-listen", "eth0"]);
  for (const type of ["88b5", "8100", "86dd"]) {
    await frames(b1.netnsPath, ["raw-send", "eth0", b1.mac, "ff:ff:ff:ff:ff:ff", type, `b-${type}`]);
    await frames(b1.netnsPath, ["raw-send", "eth0", b1.mac, a1.mac, type, `b-uni-${type}`]);
    await frames(a2.netnsPath, ["raw-send", "eth0", a2.mac, a1.mac, type, `a2-${type}`]);
  }
  await marker(7005, "end");
  assert.equal(await until(raw, / end$/), []);
});

test("a host-service address answers, and ARP-resolves, for its own session only; the gateway stays open", async () => {
  await inNs(hub.netnsPath, ["ip", "addr", "add", `${HOST_SERVICE_IP}/32`, "dev", "svcd0"]);
  await firewall.admitAddress(A, HOST_SERVICE_IP);
  try {
    await serveTcp(hub.netnsPath, HOST_SERVICE_IP);
    assert.is(await tcpFrom(a1.netnsPath, HOST_SERVICE_IP), "pong");
    assert.not.ok(await ok(tcpFrom(b1.netnsPath, HOST_SERVICE_IP)));
    const neigh = await inNs(b1.netnsPath, ["ip", "neigh", "show", HOST_SERVICE_IP]);
    assert.not.match(neigh, /lladdr/, `b1 never learns its MAC: ${neigh}`);
    await ping(b1.netnsPath, hub.gateway);
    await ping(a1.netnsPath, hub.gateway);
    // The hub's own ARP requests for a1's address go to a1's port only.
    const arpB = await listen(b1.netnsPath, ["arp-listen", "eth0"]);
    await inNs(hub.netnsPath, ["ip", "neigh", "flush", "dev", "svcd0"]);
    await ping(hub.netnsPath, a1.ip);
    await ping(hub.netnsPath, b1.ip);
    const heard = await until(arpB, new RegExp(` ${b1.ip.replace(/\./g, "\\.")}$`));
    assert.equal(heard.filter((l) => l.endsWith(` ${a1.ip}`)), [], "b1 hears no ARP request for a1");
  } finally {
    await firewall.evictAddress(A, HOST_SERVICE_IP);
    await inNs(hub.netnsPath, ["ip", "addr", "del", `${HOST_SERVICE_IP}/32`, "dev", "svcd0"]);
  }
});

test("a session's set and chains go with its last address; a stale entry for a reused address is replaced", async () => {
  const table = () => inNs(hub.netnsPath, ["nft", "list", "table", "bridge", "svcd"]);
  assert.match(await table(), new RegExp(`chain f_${B}`));
  await firewall.evictContainer(B, b1);
  await firewall.evictContainer(B, b1); // idempotent
  const after = await table();
  assert.not.match(after, new RegExp(`_${B}`), "no set or chain of B left");
  assert.not.match(after, new RegExp(`"${b1.hostVeth}"`), "no element for b1's port");
  assert.match(after, new RegExp(`chain f_${A}`), "A keeps its chains");
  // A crashed engine's entry: b1's address still routed to session A.
  await sh("nsenter", [`--net=${hub.netnsPath}`, "--", "nft", "-f", "-"], `add element bridge svcd dest { ${b1.ip} : jump i_${A} }\n`);
  await firewall.admitContainer(B, b1);
  assert.match(await table(), new RegExp(`${b1.ip.replace(/\./g, "\\.")} : jump i_${B}`));
  assert.is(await ping(b1.netnsPath, hub.gateway).then(() => "ok"), "ok");
  assert.not.ok(await ok(ping(b1.netnsPath, a1.ip)));
});

test("admits and evicts that queue up go as one transaction and end as one by one would, a stale entry among them", async () => {
  const C = "ccccccccccccc";
  const D = "ddddddddddddd";
  const table = () => inNs(hub.netnsPath, ["nft", "list", "table", "bridge", "svcd"]);
  const [c1, c2, d1, d2] = await Promise.all(["iso-c1", "iso-c2", "iso-d1", "iso-d2"].map((id) => hub.addContainer(id)));
  try {
    // Called in one tick: one turn of the firewall's queue takes them all (the batch applies as one transaction).
    await Promise.all([firewall.admitContainer(C, c1!), firewall.admitContainer(C, c2!)]);
    // A crashed engine's entry for d1's address makes the next batch's transaction fail: each is then applied alone.
    await sh("nsenter", [`--net=${hub.netnsPath}`, "--", "nft", "-f", "-"], `add element bridge svcd dest { ${d1!.ip} : jump i_${A} }\n`);
    await Promise.all([firewall.admitContainer(D, d1!), firewall.admitContainer(D, d2!)]);
    assert.match(await table(), new RegExp(`${d1!.ip.replace(/\./g, "\\.")} : jump i_${D}`), "the stale entry was replaced");
    assert.is(await ping(c1!.netnsPath, c2!.ip).then(() => "ok"), "ok");
    assert.is(await ping(d1!.netnsPath, d2!.ip).then(() => "ok"), "ok");
    assert.not.ok(await ok(ping(c1!.netnsPath, d1!.ip)), "C reaches nothing of D");
    assert.not.ok(await ok(ping(d2!.netnsPath, c2!.ip)), "D reaches nothing of C");
    assert.not.ok(await ok(ping(d1!.netnsPath, a1.ip)), "D reaches nothing of A");
    await Promise.all([c1, c2, d1, d2].map((c) => firewall.evictContainer(c === c1 || c === c2 ? C : D, c!)));
    const after = await table();
    assert.not.match(after, new RegExp(`_(${C}|${D})`), "no set or chain of C or D left");
    for (const c of [c1, c2, d1, d2]) assert.not.match(after, new RegExp(`"${c!.hostVeth}"`), `no element for ${c!.hostVeth}`);
    assert.match(after, new RegExp(`chain f_${A}`), "A keeps its chains");
  } finally {
    await Promise.all(["iso-c1", "iso-c2", "iso-d1", "iso-d2"].map((id) => hub.removeContainer(id)));
  }
});

test.run();
