import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseWwwAuthenticate } from "../../../src/image/registry/www-authenticate.js";

test("Docker Hub's bearer challenge", () => {
  assert.equal(parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/python:pull"'), [
    { scheme: "bearer", params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/python:pull" } },
  ]);
});

test("basic, token values, spaces and case", () => {
  assert.equal(parseWwwAuthenticate('Basic realm="Registry Realm"'), [{ scheme: "basic", params: { realm: "Registry Realm" } }]);
  assert.equal(parseWwwAuthenticate("BEARER Realm=https://x/token , Service = svc"), [
    { scheme: "bearer", params: { realm: "https://x/token", service: "svc" } },
  ]);
});

test("several challenges in one header (fetch joins repeats with ', ')", () => {
  const got = parseWwwAuthenticate('Basic realm="a", Bearer realm="https://t/token",scope="repository:a:pull,push"');
  assert.equal(got, [
    { scheme: "basic", params: { realm: "a" } },
    { scheme: "bearer", params: { realm: "https://t/token", scope: "repository:a:pull,push" } },
  ]);
});

test("quoted-string escapes and commas inside quotes", () => {
  assert.equal(parseWwwAuthenticate('Bearer realm="a\\"b,c",error="invalid_token"'), [
    { scheme: "bearer", params: { realm: 'a"b,c', error: "invalid_token" } },
  ]);
});

test("empty and junk input", () => {
  assert.equal(parseWwwAuthenticate(null), []);
  assert.equal(parseWwwAuthenticate(""), []);
  assert.equal(parseWwwAuthenticate("Negotiate"), [{ scheme: "negotiate", params: {} }]);
  assert.equal(parseWwwAuthenticate("Negotiate abc123=="), [{ scheme: "negotiate", params: {} }]);
  assert.equal(parseWwwAuthenticate('"""'), []);
  assert.equal(parseWwwAuthenticate('Bearer realm="unterminated'), [{ scheme: "bearer", params: { realm: "unterminated" } }]);
});

test.run();
