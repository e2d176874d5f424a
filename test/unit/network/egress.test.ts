// Egress, pure parts: slirp's addresses for a CIDR, collisions with the hub subnet refused, slirp4netns's argv
// (host loopback always disabled), the hub NAT ruleset, the pid record's parsing, and resolv.conf with nameservers.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { EgressError, planEgress, tunUnusableReason } from "../../../src/network/index.js";
import { HUB_SYSCTLS, natRuleset, slirpArgs } from "../../../src/network/egress/egress-plan.js";
import { parseSlirpRecord, recordAlive, renderSlirpRecord } from "../../../src/network/egress/slirp-record.js";
import { renderResolvConf } from "../../../src/network/hosts/hosts-file.js";
import { processStartTime } from "../../../src/common/owner.js";
import { isCode } from "../../helpers/errors.js";

test("the default plan is slirp's 10.0.2.0/24: tap at .100, gateway .2, DNS .3, MTU 65520, tap0", () => {
  const plan = planEgress({ hubSubnet: "10.87.0.0/16" });
  assert.equal(plan, {
    cidr: "10.0.2.0/24",
    tap: "tap0",
    mtu: 65520,
    tapAddress: "10.0.2.100",
    gateway: "10.0.2.2",
    nameserver: "10.0.2.3",
  });
});

test("another CIDR shifts every address", () => {
  const plan = planEgress({ cidr: "192.168.50.0/24", hubSubnet: "10.89.21.0/24", tap: "slirp1", mtu: 1500 });
  assert.is(plan.tapAddress, "192.168.50.100");
  assert.is(plan.nameserver, "192.168.50.3");
  assert.is(plan.tap, "slirp1");
  assert.is(plan.mtu, 1500);
});

test("a CIDR overlapping the hub subnet, either way round, is refused", () => {
  assert.throws(() => planEgress({ cidr: "10.0.2.0/24", hubSubnet: "10.0.0.0/16" }), isCode("INVALID_ARGUMENT", /overlaps the hub subnet/));
  assert.throws(() => planEgress({ cidr: "10.0.0.0/8", hubSubnet: "10.87.0.0/16" }), isCode("INVALID_ARGUMENT", /overlaps/));
  assert.throws(() => planEgress({ cidr: "10.87.3.0/24", hubSubnet: "10.87.0.0/16" }), isCode("INVALID_ARGUMENT", /overlaps/));
  // Adjacent is fine.
  assert.is(planEgress({ cidr: "10.88.0.0/24", hubSubnet: "10.87.0.0/16" }).cidr, "10.88.0.0/24");
});

test("malformed settings are InvalidArgumentErrors", () => {
  const hubSubnet = "10.87.0.0/16";
  assert.throws(() => planEgress({ cidr: "10.0.2.1/24", hubSubnet }), isCode("INVALID_ARGUMENT", /host bits/));
  assert.throws(() => planEgress({ cidr: "10.0.2.0/26", hubSubnet }), isCode("INVALID_ARGUMENT", /at most 25/));
  assert.throws(() => planEgress({ cidr: "10.0.2.0", hubSubnet }), isCode("INVALID_ARGUMENT"));
  assert.throws(() => planEgress({ cidr: "300.0.2.0/24", hubSubnet }), isCode("INVALID_ARGUMENT"));
  assert.throws(() => planEgress({ tap: "tap0; rm -rf /", hubSubnet }), isCode("INVALID_ARGUMENT", /tap device name/));
  assert.throws(() => planEgress({ tap: "a-very-long-device-name", hubSubnet }), isCode("INVALID_ARGUMENT"));
  assert.throws(() => planEgress({ mtu: 70000, hubSubnet }), isCode("INVALID_ARGUMENT", /MTU/));
  assert.throws(() => planEgress({ mtu: 1500.5, hubSubnet }), isCode("INVALID_ARGUMENT", /MTU/));
  assert.throws(() => planEgress({ hubSubnet: "nonsense" }), isCode("INVALID_ARGUMENT"));
});

test("slirp4netns joins the hub by path, configures the tap, never reaches the host's loopback, and has no exit fd", () => {
  const plan = planEgress({ hubSubnet: "10.87.0.0/16" });
  const args = slirpArgs(plan, "/run/svcd/netns/hub", 3);
  assert.equal(args, [
    "--configure",
    "--mtu=65520",
    "--disable-host-loopback",
    "--cidr=10.0.2.0/24",
    "--netns-type=path",
    "--ready-fd=3",
    "/run/svcd/netns/hub",
    "tap0",
  ]);
  assert.not.ok(args.some((a) => a.startsWith("--exit-fd") || a === "-e"), "outlives the engine that started it");
});

test("the NAT ruleset masquerades only the hub subnet out of the tap, lets in only replies, and refuses hairpin routing", () => {
  const plan = planEgress({ hubSubnet: "10.89.21.0/24" });
  const script = natRuleset(plan, "10.89.21.0/24", "svcd0");
  const lines = script.trim().split("\n");
  assert.equal(lines.slice(0, 3), ["add table ip svcd-nat", "delete table ip svcd-nat", "add table ip svcd-nat"], "recreated atomically");
  assert.ok(lines.includes('add rule ip svcd-nat postrouting oifname "tap0" ip saddr 10.89.21.0/24 masquerade'));
  assert.ok(lines.includes('add rule ip svcd-nat forward iifname "tap0" ct state established,related accept'));
  assert.ok(lines.includes('add rule ip svcd-nat forward iifname "tap0" drop'));
  assert.ok(lines.includes('add rule ip svcd-nat forward iifname "svcd0" oifname "svcd0" drop'));
  assert.ok(lines.indexOf('add rule ip svcd-nat forward iifname "tap0" ct state established,related accept') < lines.indexOf('add rule ip svcd-nat forward iifname "tap0" drop'));
  assert.not.ok(/\b(inet|ip6|bridge) /.test(script), "only the ip family table");
  assert.throws(() => natRuleset(plan, "10.89.21.0/24", 'svcd0"; flush ruleset'), isCode("INVALID_ARGUMENT"));
  assert.equal([...HUB_SYSCTLS], ["net.ipv4.ip_forward=1", "net.bridge.bridge-nf-call-iptables=0"]);
});

test("pid records round-trip; malformed ones are stale (undefined)", () => {
  const record = { pid: 4242, startTime: "123456", cidr: "10.0.2.0/24", tap: "tap0", mtu: 65520 };
  assert.equal(parseSlirpRecord(renderSlirpRecord(record)), record);
  assert.is(parseSlirpRecord(""), undefined);
  assert.is(parseSlirpRecord("{\"pid\":42"), undefined);
  assert.is(parseSlirpRecord("null"), undefined);
  assert.is(parseSlirpRecord(JSON.stringify({ ...record, pid: 1 })), undefined, "never init");
  assert.is(parseSlirpRecord(JSON.stringify({ ...record, pid: "4242" })), undefined);
  assert.is(parseSlirpRecord(JSON.stringify({ ...record, startTime: "12x" })), undefined);
  assert.is(parseSlirpRecord(JSON.stringify({ ...record, tap: undefined })), undefined);
});

test("a record is alive only for the same pid with the same start time", () => {
  const startTime = processStartTime(process.pid)!;
  assert.ok(recordAlive({ pid: process.pid, startTime }));
  assert.not.ok(recordAlive({ pid: process.pid, startTime: String(Number(startTime) + 1) }), "reused pid");
  assert.not.ok(recordAlive({ pid: 2 ** 22 + 1, startTime }), "no such process");
});

test("EgressError is an UNAVAILABLE svcd error saying egress is off and why", () => {
  const err = new EgressError("/dev/net/tun is not usable (ENOENT)");
  assert.ok(isCode("UNAVAILABLE", /^egress is off: \/dev\/net\/tun is not usable \(ENOENT\)$/)(err));
  assert.is(err.reason, "/dev/net/tun is not usable (ENOENT)");
});

test("an unusable tun device: a refused user is told to have root open it up, a missing device to load tun", () => {
  const user = tunUnusableReason("EACCES", 1007);
  assert.match(user, /^\/dev\/net\/tun is not accessible to you \(uid 1007, EACCES\): as root, chmod 0666 \/dev\/net\/tun /);
  assert.match(user, /or run svcd as root$/);
  assert.not.match(user, /modprobe/);
  assert.match(tunUnusableReason("EPERM", 1007), /not accessible to you/);
  assert.match(tunUnusableReason("ENOENT", 1007), /not usable \(ENOENT\): load the tun module \(modprobe tun\)/);
  assert.match(tunUnusableReason("EACCES", 0), /modprobe tun/, "root refused: not a mode problem");
});

test("resolv.conf names egress's nameservers when given, and stays as before without", () => {
  assert.is(renderResolvConf(), renderResolvConf({ nameservers: [] }));
  assert.not.match(renderResolvConf(), /nameserver/);
  const text = renderResolvConf({ nameservers: ["10.0.2.3"] });
  assert.match(text, /^nameserver 10\.0\.2\.3$/m);
  assert.match(text, /^options ndots:0$/m);
  assert.throws(() => renderResolvConf({ nameservers: ["10.0.2.3\nnameserver 6.6.6.6"] }), isCode("INVALID_ARGUMENT"));
});

test.run();
