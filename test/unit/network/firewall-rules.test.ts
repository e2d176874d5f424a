// The hub firewall's nft script lines, pure: what an admit, evict or session drop sends, and the inputs refused
// before any line is rendered.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  addressElements,
  adding,
  declareScript,
  deleting,
  dropSessionScript,
  portElements,
  staleDest,
} from "../../../src/network/hub/firewall-rules.js";
import { isCode } from "../../helpers/errors.js";

const KEY = "0dief2v8in7fi";
const PORT = { hostVeth: "veth1a2b3c4d", mac: "0a:58:0a:57:00:05", ip: "10.87.0.5" };

test("a port is admitted by its ifindex with its own MAC and address, to its session's chains", () => {
  assert.equal(adding(portElements(KEY, PORT)), [
    'add element bridge svcd mac { "veth1a2b3c4d" . 0a:58:0a:57:00:05 }',
    'add element bridge svcd addr { "veth1a2b3c4d" . 10.87.0.5 }',
    `add element bridge svcd p_${KEY} { "veth1a2b3c4d" }`,
    `add element bridge svcd port { "veth1a2b3c4d" : jump f_${KEY} }`,
    `add element bridge svcd dest { 10.87.0.5 : jump i_${KEY} }`,
  ]);
  assert.equal(deleting(portElements(KEY, PORT)).slice(3), ['delete element bridge svcd port { "veth1a2b3c4d" }', "delete element bridge svcd dest { 10.87.0.5 }"]);
  assert.equal(adding(addressElements(KEY, "10.87.255.250")), [`add element bridge svcd dest { 10.87.255.250 : jump i_${KEY} }`]);
  assert.is(staleDest("10.87.0.5"), "delete element bridge svcd dest { 10.87.0.5 }");
});

test("the declaration re-creates every chain's rules (flush first) and puts every hook before br_netfilter", () => {
  const lines = declareScript(KEY);
  for (const hook of ["prerouting", "forward", "input", "output"]) {
    const decl = lines.find((l) => l.startsWith(`add chain bridge svcd ${hook} `));
    assert.ok(decl?.includes(`hook ${hook} priority filter`), hook);
    assert.ok(lines.includes(`flush chain bridge svcd ${hook}`), hook);
  }
  assert.ok(lines.some((l) => l.includes("forward") && l.includes("policy drop")), "forward drops what no session claims");
  assert.ok(lines.includes("add rule bridge svcd guard ether type ip iif . ether saddr @mac iif . ip saddr @addr return"));
  assert.ok(lines.some((l) => l.includes("arp htype 1 arp ptype ip arp hlen 6 arp plen 4") && l.includes("arp saddr ether @mac")));
  assert.is(lines.at(-1), `add rule bridge svcd i_${KEY} drop`);
  assert.ok(lines.includes(`add rule bridge svcd f_${KEY} oif @p_${KEY} accept`));
  assert.equal(dropSessionScript(KEY), [`delete chain bridge svcd f_${KEY}`, `delete chain bridge svcd i_${KEY}`, `delete set bridge svcd p_${KEY}`]);
});

test("hostile or malformed keys, ports, MACs and addresses never reach a line", () => {
  const bad = [
    () => declareScript("Evil; flush ruleset"),
    () => portElements(KEY, { ...PORT, hostVeth: 'x" } ; flush ruleset ; {' }),
    () => portElements(KEY, { ...PORT, hostVeth: "a-name-longer-than-15" }),
    () => portElements(KEY, { ...PORT, mac: "01:00:5e:00:00:01" }), // multicast
    () => portElements(KEY, { ...PORT, mac: "00:00:00:00:00:00" }),
    () => portElements(KEY, { ...PORT, mac: "0A:58:0A:57:00:05" }), // the CNI parser lowercases; nothing else does
    () => portElements(KEY, { ...PORT, ip: "fe80::1" }),
    () => portElements(KEY, { ...PORT, ip: "10.87.0.5 }" }),
    () => addressElements(KEY, "10.87.0.256"),
    () => dropSessionScript(""),
  ];
  for (const fn of bad) assert.throws(fn, isCode("INVALID_ARGUMENT"), String(fn));
});

test.run();
