import { test } from "uvu";
import * as assert from "uvu/assert";
import { InvalidArgumentError } from "../../../src/common/errors.js";
import { parseReference } from "../../../src/image/reference.js";

const D = "sha256:" + "a".repeat(64);

const valid: [string, string, string][] = [
  // input, normalised, familiar
  ["python", "docker.io/library/python:latest", "python:latest"],
  ["python:3.12-slim", "docker.io/library/python:3.12-slim", "python:3.12-slim"],
  ["library/python", "docker.io/library/python:latest", "python:latest"],
  ["docker.io/python", "docker.io/library/python:latest", "python:latest"],
  ["index.docker.io/library/busybox:1", "docker.io/library/busybox:1", "busybox:1"],
  ["user/repo:tag", "docker.io/user/repo:tag", "user/repo:tag"],
  ["user/sub/repo", "docker.io/user/sub/repo:latest", "user/sub/repo:latest"],
  [`host:5000/repo@${D}`, `host:5000/repo@${D}`, `host:5000/repo@${D}`],
  [`repo:tag@${D}`, `docker.io/library/repo:tag@${D}`, `repo:tag@${D}`],
  ["localhost/x", "localhost/x:latest", "localhost/x:latest"],
  ["localhost:5000/a/b:v1", "localhost:5000/a/b:v1", "localhost:5000/a/b:v1"],
  ["127.0.0.1:5000/busybox", "127.0.0.1:5000/busybox:latest", "127.0.0.1:5000/busybox:latest"],
  ["ghcr.io/owner/img:1.0", "ghcr.io/owner/img:1.0", "ghcr.io/owner/img:1.0"],
  ["Example.COM/foo", "Example.COM/foo:latest", "Example.COM/foo:latest"],
  ["a_b__c-d---e/x.y", "docker.io/a_b__c-d---e/x.y:latest", "a_b__c-d---e/x.y:latest"],
  ["repo:_tag", "docker.io/library/repo:_tag", "repo:_tag"],
  ["repo:" + "t".repeat(128), "docker.io/library/repo:" + "t".repeat(128), "repo:" + "t".repeat(128)],
];

for (const [input, normal, familiar] of valid) {
  test(`parses ${JSON.stringify(input)}`, () => {
    const ref = parseReference(input);
    assert.is(ref.toString(), normal);
    assert.is(ref.familiarString, familiar);
    assert.is(parseReference(ref.toString()).toString(), normal, "normalising is idempotent");
  });
}

test("exposes the parts", () => {
  const ref = parseReference(`localhost:5000/team/app:v2@${D}`);
  assert.is(ref.domain, "localhost:5000");
  assert.is(ref.path, "team/app");
  assert.is(ref.tag, "v2");
  assert.is(ref.digest, D);
  assert.is(ref.name, "localhost:5000/team/app");
  assert.is(ref.manifestReference, D);
  assert.is(parseReference("busybox").manifestReference, "latest");
  assert.is(parseReference("busybox").familiarName, "busybox");
  assert.is(parseReference("docker.io/library/a/b").familiarName, "library/a/b");
  assert.is(parseReference(`busybox@${D}`).tag, undefined, "a digest alone gets no tag");
  assert.ok(Object.isFrozen(ref));
});

const invalid: [string, RegExp][] = [
  ["", /empty/],
  ["   ", /whitespace/],
  ["python ", /whitespace/],
  ["py thon", /whitespace/],
  ["python\n", /whitespace/],
  ["python\nrm -rf /", /whitespace/],
  ["py\0thon", /whitespace|control/],
  ["Python", /lowercase/],
  ["user/Repo", /lowercase/],
  ["../etc/passwd", /registry host/],
  ["x/../etc", /path component/],
  ["a_b.c/x", /registry host/],
  ["a/../b", /path component/],
  ["a/./b", /path component/],
  ["a//b", /path component/],
  ["/a", /path component|missing/],
  ["a/", /path component|missing/],
  ["repo:", /tag/],
  ["repo:-tag", /tag/],
  ["repo:.tag", /tag/],
  ["repo:" + "t".repeat(129), /tag/],
  ["repo:ta/g", /port/],
  ["repo@sha256:abc", /digest/],
  ["repo@sha256:" + "A".repeat(64), /digest/],
  ["repo@md5:" + "a".repeat(32), /algorithm/],
  ["repo@", /digest/],
  ["@" + D, /missing/],
  [":tag", /missing/],
  ["host:99999/repo", /port/],
  ["host:port/repo", /port|tag/],
  ["-host.com/repo", /registry host/],
  ["[::1]:5000/repo", /IPv6|registry/],
  ["a".repeat(64), /image ID/],
  ["x.io/" + "a".repeat(260), /longer/],
  ["repo__-x", /path component/],
  ["repo_", /path component/],
  ["a/b/c:t:u", /path component/],
];

for (const [input, reason] of invalid) {
  test(`rejects ${JSON.stringify(input).slice(0, 60)}`, () => {
    try {
      parseReference(input);
    } catch (err) {
      assert.instance(err, InvalidArgumentError);
      assert.is((err as InvalidArgumentError).code, "INVALID_ARGUMENT");
      assert.match((err as Error).message, reason);
      return;
    }
    assert.unreachable(`accepted ${JSON.stringify(input)}`);
  });
}

test("control characters are refused and a long reference is not echoed whole", () => {
  for (const bad of ["py\u0001thon", "busybox\u007f", "busy\tbox", "busybox\r"]) {
    assert.throws(() => parseReference(bad), (e: unknown) => e instanceof InvalidArgumentError && /control/.test((e as Error).message), JSON.stringify(bad));
  }
  for (const long of ["a".repeat(5000), "x.io/" + "a".repeat(300)]) {
    try {
      parseReference(long);
      assert.unreachable("accepted");
    } catch (err) {
      assert.instance(err, InvalidArgumentError);
      assert.ok((err as Error).message.length < 200, (err as Error).message.slice(0, 100));
      assert.match((err as Error).message, /^invalid image reference "a|^invalid image reference "x\.io/);
    }
  }
});

test("rejects non-strings", () => {
  assert.throws(() => parseReference(42 as unknown as string), (e: unknown) => e instanceof InvalidArgumentError);
});

test("withDigest pins and validates", () => {
  assert.is(parseReference("busybox").withDigest(D).toString(), `docker.io/library/busybox:latest@${D}`);
  assert.throws(() => parseReference("busybox").withDigest("sha256:zz"), (e: unknown) => e instanceof InvalidArgumentError);
});

test.run();
