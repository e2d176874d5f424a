import { test } from "uvu";
import * as assert from "uvu/assert";
import { base32hex, hostHash } from "../../../src/definition/index.js";

test("hostHash matches DESIGN.md's test vectors", () => {
  assert.is(hostHash("sha256:" + "0".repeat(64)), "s68ro6ncfqd1q");
  assert.is(hostHash("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), "0dief2v8in7fi");
});

test("hostHash is a 13-character DNS label of base32hex digits", () => {
  for (const v of ["a", "session-1", "sha256:" + "f".repeat(64)]) assert.match(hostHash(v), /^[0-9a-v]{13}$/);
});

test("base32hex follows RFC 4648 (lowercase, no padding)", () => {
  // RFC 4648 §10 test vectors for base32hex, lowercased and unpadded.
  const cases: [string, string][] = [["", ""], ["f", "co"], ["fo", "cpng"], ["foo", "cpnmu"], ["foob", "cpnmuog"], ["fooba", "cpnmuoj1"], ["foobar", "cpnmuoj1e8"]];
  for (const [input, want] of cases) assert.is(base32hex(Buffer.from(input)), want);
});

test.run();
