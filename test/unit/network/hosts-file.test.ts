// Hosts file rendering and validation: hostile names and addresses throw before any text exists.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { BLOCK_BEGIN, BLOCK_END, renderHostname, renderHostsFile, renderManagedBlock, replaceManagedBlock } from "../../../src/network/hosts/hosts-file.js";
import { isDnsName } from "../../../src/network/hosts/host-names.js";
import { SvcdError } from "../../../src/common/errors.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return SvcdError.is(err) ? err.code : `not-svcd: ${String(err)}`;
  }
}

test("a hosts file has localhost, the own address and hostname, then the managed block", () => {
  const text = renderHostsFile({ hostname: "s68ro6ncfqd1q", ip: "10.87.0.5", entries: [{ ip: "10.87.0.6", names: ["www", "0dief2v8in7fi"] }] });
  const lines = text.split("\n").filter((l) => l && !l.startsWith("# Written") && !l.startsWith("# change"));
  assert.equal(lines, [
    "127.0.0.1 localhost",
    "::1 localhost ip6-localhost ip6-loopback",
    "10.87.0.5 s68ro6ncfqd1q",
    BLOCK_BEGIN,
    "10.87.0.6 www 0dief2v8in7fi",
    BLOCK_END,
  ]);
  assert.ok(text.endsWith("\n"));
});

test("without an address the hostname maps to 127.0.1.1", () => {
  assert.match(renderHostsFile({ hostname: "box" }), /^127\.0\.1\.1 box$/m);
});

test("hostile names and addresses are InvalidArgumentError", () => {
  const hostile = ["www\n1.2.3.4 evil", "www 1.2.3.4", "a#b", "", "-a", "a-", "a..b", ".a", "a.", "under_score", "x".repeat(64), "é", "a\tb", "a\r"];
  for (const name of hostile) {
    assert.is(codeOf(() => renderManagedBlock([{ ip: "10.0.0.1", names: [name] }])), "INVALID_ARGUMENT", JSON.stringify(name));
    assert.is(codeOf(() => renderHostsFile({ hostname: name })), "INVALID_ARGUMENT", JSON.stringify(name));
  }
  for (const ip of ["10.0.0.1\n1.2.3.4 evil", "10.0.0.1 ", "10.0.0.256", "host", "", "#"]) {
    assert.is(codeOf(() => renderManagedBlock([{ ip, names: ["a"] }])), "INVALID_ARGUMENT", JSON.stringify(ip));
    assert.is(codeOf(() => renderHostsFile({ hostname: "a", ip })), "INVALID_ARGUMENT", JSON.stringify(ip));
  }
  assert.is(codeOf(() => renderManagedBlock([{ ip: "10.0.0.1", names: [] }])), "INVALID_ARGUMENT");
  assert.is(codeOf(() => renderManagedBlock([{ ip: "10.0.0.1" } as never])), "INVALID_ARGUMENT");
  assert.is(codeOf(() => renderManagedBlock("nope" as never)), "INVALID_ARGUMENT");
  assert.is(codeOf(() => renderHostname("a b")), "INVALID_ARGUMENT");
});

test("DNS names: full names, length limits, IPv6 addresses", () => {
  assert.ok(isDnsName("a.mod0.sess1.svcd.local"));
  assert.ok(isDnsName("x".repeat(63)));
  assert.ok(isDnsName(Array(4).fill("x".repeat(62)).join(".")), "251 chars");
  assert.not.ok(isDnsName(Array(5).fill("x".repeat(62)).join(".")), "over 253");
  assert.ok(isDnsName("Web-1"), "either case");
  assert.is(renderManagedBlock([{ ip: "fd00::1", names: ["v6"] }]).split("\n")[1], "fd00::1 v6");
});

test("replacing the managed block keeps everything around it", () => {
  const original = renderHostsFile({ hostname: "me", ip: "10.0.0.2", entries: [{ ip: "10.0.0.3", names: ["old"] }] });
  const edited = original + "# a line a human added after the block\n";
  const next = replaceManagedBlock(edited, [{ ip: "10.0.0.4", names: ["new", "new.m.s.svcd.local"] }]);
  assert.ok(next.includes("10.0.0.2 me\n"));
  assert.ok(next.includes(`${BLOCK_BEGIN}\n10.0.0.4 new new.m.s.svcd.local\n${BLOCK_END}\n# a line a human added`));
  assert.not.ok(next.includes("old"));
  assert.is(replaceManagedBlock(next, []).split(BLOCK_BEGIN).length, 2, "one block");
  assert.ok(replaceManagedBlock(next, []).includes(`${BLOCK_BEGIN}\n${BLOCK_END}\n`));
});

test("a file without markers gets the block appended; a missing end marker ends the block at EOF", () => {
  assert.is(replaceManagedBlock("127.0.0.1 localhost", [{ ip: "10.0.0.1", names: ["a"] }]), `127.0.0.1 localhost\n${BLOCK_BEGIN}\n10.0.0.1 a\n${BLOCK_END}\n`);
  assert.is(replaceManagedBlock(`x\n${BLOCK_BEGIN}\n10.0.0.9 stale\n`, []), `x\n${BLOCK_BEGIN}\n${BLOCK_END}\n`);
});

test("a hostile entry in a replacement throws instead of producing text", () => {
  assert.is(codeOf(() => replaceManagedBlock("", [{ ip: "10.0.0.1", names: ["ok"] }, { ip: "10.0.0.2", names: ["bad name"] }])), "INVALID_ARGUMENT");
});

test.run();
