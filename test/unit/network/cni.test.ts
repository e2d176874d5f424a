// CNI config and result handling, pure: what the plugins read and what we take from their answers.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { bridgeNetwork, pluginStdin, subnetOfConfig } from "../../../src/network/cni/cni-config.js";
import { parseCniError, resultAddress } from "../../../src/network/cni/cni-result.js";
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
