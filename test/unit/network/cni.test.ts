// CNI config and result handling, pure: what the plugins read and what we take from their answers.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { bridgeNetwork, pluginStdin, subnetOfConfig } from "../../../src/network/cni/cni-config.js";
import { parseCniError, resultAddress, resultAttachment } from "../../../src/network/cni/cni-result.js";
import { parseLease } from "../../../src/network/ipam-leases.js";
import { planSubnet } from "../../../src/network/subnet.js";
import { isContainerId } from "../../../src/network/container-id.js";

const plan = planSubnet("10.89.7.0/24");

test("the bridge network: no masquerade, hairpin, host-local with a dataDir and the reserved block left out", () => {
  const list = bridgeNetwork({ name: "svcd", bridge: "svcd0", plan, dataDir: "/run/x/ipam" });
  const stdin = JSON.parse(pluginStdin(list));
  assert.is(stdin.cniVersion, "1.0.0");
  assert.is(stdin.name, "svcd");
  assert.is(stdin.type, "bridge");
  assert.is(stdin.bridge, "svcd0");
  assert.is(stdin.isGateway, true);
  assert.is(stdin.ipMasq, false);
  assert.is(stdin.hairpinMode, true);
  assert.is(stdin.ipam.type, "host-local");
  assert.is(stdin.ipam.dataDir, "/run/x/ipam");
  assert.equal(stdin.ipam.ranges, [[{ subnet: "10.89.7.0/24", rangeStart: "10.89.7.2", rangeEnd: "10.89.7.191", gateway: "10.89.7.1" }]]);
  assert.is(subnetOfConfig(list), "10.89.7.0/24");
  assert.is(subnetOfConfig({ plugins: [{ type: "loopback" }] }), undefined);
  assert.is(subnetOfConfig(null), undefined);
  assert.throws(() => pluginStdin(list, 1));
});

test("the address comes from the first valid ips[] entry", () => {
  const result = { cniVersion: "1.0.0", interfaces: [], ips: [{ address: "10.89.7.2/24", gateway: "10.89.7.1", interface: 2 }] };
  assert.is(resultAddress(JSON.stringify(result)), "10.89.7.2");
  assert.is(resultAddress(JSON.stringify({ ips: [{ address: "junk" }, { address: "fd00::2/64" }] })), "fd00::2");
  assert.is(resultAddress(JSON.stringify({ ips: [] })), undefined);
  assert.is(resultAddress("not json"), undefined);
});

test("the attachment: the IPv4 entry's sandboxed interface gives the MAC, the one unsandboxed non-bridge entry the port", () => {
  const result = {
    cniVersion: "1.0.0",
    interfaces: [
      { name: "svcd0", mac: "d6:2b:7e:1f:00:01" },
      { name: "veth1a2b3c4d", mac: "ae:11:22:33:44:55" },
      { name: "eth0", mac: "0A:58:0A:57:00:05", sandbox: "/run/svcd/netns/ctr-x" },
    ],
    ips: [{ address: "10.87.0.5/16", gateway: "10.87.0.1", interface: 2 }],
  };
  assert.equal(resultAttachment(JSON.stringify(result), "svcd0"), { ip: "10.87.0.5", mac: "0a:58:0a:57:00:05", hostVeth: "veth1a2b3c4d" });
  const variant = (patch: object) => resultAttachment(JSON.stringify({ ...result, ...patch }), "svcd0");
  assert.is(variant({ ips: [{ address: "10.87.0.5/16" }] }), undefined, "no interface index");
  assert.is(variant({ ips: [{ address: "fd00::5/64", interface: 2 }] }), undefined, "no IPv4");
  assert.is(variant({ interfaces: result.interfaces.slice(0, 2) }), undefined, "no sandboxed interface");
  assert.is(variant({ interfaces: [result.interfaces[0], result.interfaces[2]] }), undefined, "no host veth");
  const twoHosts = [...result.interfaces.slice(0, 2), { name: "veth9", mac: "ae:00:00:00:00:09" }, result.interfaces[2]];
  assert.is(variant({ interfaces: twoHosts, ips: [{ address: "10.87.0.5/16", interface: 3 }] }), undefined, "ambiguous port");
  const hostile = [result.interfaces[0], { name: 'x" ; flush ruleset', mac: "ae:00:00:00:00:01" }, result.interfaces[2]];
  assert.is(variant({ interfaces: hostile }), undefined, "a name that is no interface name");
  assert.is(variant({ interfaces: [result.interfaces[0], result.interfaces[1], { ...result.interfaces[2], mac: "zz" }] }), undefined);
  assert.is(resultAttachment("not json", "svcd0"), undefined);
});

test("a plugin's error object is parsed; anything else is not", () => {
  assert.equal(parseCniError('{"code":11,"msg":"failed to allocate","details":"no IP addresses available"}'), {
    msg: "failed to allocate",
    code: 11,
    details: "no IP addresses available",
  });
  assert.equal(parseCniError('{"msg":"boom"}'), { msg: "boom" });
  assert.is(parseCniError("panic: oops"), undefined);
  assert.is(parseCniError('{"code":1}'), undefined);
});

test("lease files name their container (CRLF, LF and id-only forms)", () => {
  assert.equal(parseLease("10.0.0.2", "abc\r\neth0"), { ip: "10.0.0.2", containerId: "abc", ifname: "eth0" });
  assert.equal(parseLease("10.0.0.2", "abc\neth0\n"), { ip: "10.0.0.2", containerId: "abc", ifname: "eth0" });
  assert.equal(parseLease("10.0.0.2", "abc"), { ip: "10.0.0.2", containerId: "abc" });
  assert.is(parseLease("10.0.0.2", ""), undefined);
});

test("container ids follow containerd's grammar", () => {
  for (const ok of ["a", "svc-0dief2v8in7fi.s1", "A_b.c-d"]) assert.ok(isContainerId(ok), ok);
  for (const bad of ["", "../x", "a/b", "a..b", "-a", "a b", "a\n", "x".repeat(77), 5]) assert.not.ok(isContainerId(bad), String(bad));
});

test.run();
