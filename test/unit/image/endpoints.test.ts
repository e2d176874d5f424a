import { test } from "uvu";
import * as assert from "uvu/assert";
import { InvalidArgumentError } from "../../../src/common/errors.js";
import { endpointsFor, isLoopbackHost, parseMirrorsEnv, resolveMirrors, upstreamOrigin, validateRegistryUrl } from "../../../src/image/registry/endpoints.js";

const isInvalid = (e: unknown) => e instanceof InvalidArgumentError;

test("parses SVCD_REGISTRY_MIRRORS", () => {
  assert.equal(parseMirrorsEnv("docker.io=http://127.0.0.1:5000,ghcr.io=https://mirror.example.com"), {
    "docker.io": ["http://127.0.0.1:5000"],
    "ghcr.io": ["https://mirror.example.com"],
  });
  assert.equal(parseMirrorsEnv(" docker.io = http://localhost:5000/ , docker.io=http://[::1]:6000 ,"), {
    "docker.io": ["http://localhost:5000", "http://[::1]:6000"],
  });
  assert.equal(parseMirrorsEnv("index.docker.io=https://m.example:8443"), { "docker.io": ["https://m.example:8443"] });
  assert.equal(parseMirrorsEnv(""), {});
  assert.equal(parseMirrorsEnv(undefined), {});
});

test("rejects bad mirror entries", () => {
  for (const bad of [
    "docker.io",
    "=http://127.0.0.1:5000",
    "docker.io=",
    "docker.io=ftp://127.0.0.1",
    "docker.io=http://mirror.example.com", // plain http off loopback
    "docker.io=http://10.0.0.1:5000",
    "docker.io=http://u:p@127.0.0.1:5000",
    "docker.io=https://m.example/path",
    "docker.io=https://m.example/?q=1",
    "docker.io=not a url",
    "bad domain=https://m.example",
    "docker.io=file:///etc/passwd",
  ]) {
    assert.throws(() => parseMirrorsEnv(bad), isInvalid, bad);
  }
});

test("plain http only for loopback", () => {
  assert.ok(isLoopbackHost("127.0.0.1"));
  assert.ok(isLoopbackHost("127.1.2.3"));
  assert.ok(isLoopbackHost("localhost"));
  assert.ok(isLoopbackHost("[::1]"));
  assert.not.ok(isLoopbackHost("128.0.0.1"));
  assert.not.ok(isLoopbackHost("localhost.example.com"));
  assert.not.ok(isLoopbackHost("::2"));
  assert.is(validateRegistryUrl("http://127.0.0.1:5000"), "http://127.0.0.1:5000");
  assert.is(validateRegistryUrl("https://registry.example.com"), "https://registry.example.com");
  assert.throws(() => validateRegistryUrl("http://registry.example.com"), isInvalid);
});

test("merges option mirrors before env mirrors without duplicates", () => {
  const merged = resolveMirrors(
    { "docker.io": "http://127.0.0.1:5000", "quay.io": ["https://a.example", "https://b.example"] },
    { SVCD_REGISTRY_MIRRORS: "docker.io=http://127.0.0.1:5000,docker.io=http://127.0.0.1:6000" },
  );
  assert.equal(merged, {
    "docker.io": ["http://127.0.0.1:5000", "http://127.0.0.1:6000"],
    "quay.io": ["https://a.example", "https://b.example"],
  });
  assert.throws(() => resolveMirrors({ "docker.io": "http://example.com" }, {}), isInvalid);
  assert.throws(() => resolveMirrors({ "docker.io": 5 as unknown as string }, {}), isInvalid);
});

test("endpoints: mirrors first, then the registry itself", () => {
  const mirrors = { "docker.io": ["http://127.0.0.1:5000"] };
  const eps = endpointsFor("docker.io", mirrors);
  assert.equal(
    eps.map((e) => [e.origin, e.host, e.mirror]),
    [
      ["http://127.0.0.1:5000", "127.0.0.1:5000", true],
      ["https://registry-1.docker.io", "registry-1.docker.io", false],
    ],
  );
  assert.equal(endpointsFor("docker.io", mirrors, false).map((e) => e.origin), ["http://127.0.0.1:5000"]);
  assert.equal(endpointsFor("ghcr.io", mirrors, false).map((e) => e.origin), ["https://ghcr.io"], "no mirror: upstream even without fallback");
  assert.is(upstreamOrigin("localhost:5000"), "http://localhost:5000");
  assert.is(upstreamOrigin("127.0.0.1:5000"), "http://127.0.0.1:5000");
  assert.is(upstreamOrigin("quay.io"), "https://quay.io");
});

test.run();
