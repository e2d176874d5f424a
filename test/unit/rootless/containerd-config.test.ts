import { test } from "uvu";
import * as assert from "uvu/assert";
import { Paths } from "../../../src/common/paths.js";
import { SvcdError } from "../../../src/common/errors.js";
import {
  checkSocketPath,
  MAX_SOCKET_PATH_BYTES,
  renderContainerdConfig,
  tomlString,
} from "../../../src/rootless/containerd-config.js";

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return SvcdError.is(err) ? err.code : "not-svcd";
  }
  return undefined;
};

test("config: version 2, own root/state/socket, CRI disabled, top-level keys before tables", () => {
  const text = renderContainerdConfig(new Paths({ state: "/var/lib/svcd", runtime: "/run/svcd" }));
  const lines = text.split("\n");
  assert.ok(lines.includes("version = 2"));
  assert.ok(lines.includes('root = "/var/lib/svcd/containerd"'));
  assert.ok(lines.includes('state = "/run/svcd/containerd"'));
  assert.ok(lines.includes('disabled_plugins = ["io.containerd.grpc.v1.cri"]'));
  const grpc = lines.indexOf("[grpc]");
  assert.ok(grpc > lines.indexOf("disabled_plugins = [\"io.containerd.grpc.v1.cri\"]"));
  assert.is(lines[grpc + 1], '  address = "/run/svcd/containerd.sock"');
  assert.not.match(text, /metrics|debug|ttrpc/);
});

test("toml strings escape quotes and backslashes and refuse control characters", () => {
  assert.is(tomlString('/a"b\\c'), '"/a\\"b\\\\c"');
  assert.is(codeOf(() => tomlString("/a\nb")), "INVALID_ARGUMENT");
});

test("socket path: the gRPC path plus '.ttrpc' must fit in 107 bytes", () => {
  const room = MAX_SOCKET_PATH_BYTES - ".ttrpc".length; // 101
  const fits = "/" + "a".repeat(room - 1);
  assert.is(Buffer.byteLength(fits), room);
  assert.is(codeOf(() => checkSocketPath(fits)), undefined);
  assert.is(codeOf(() => checkSocketPath(fits + "a")), "INVALID_ARGUMENT");
  // bytes, not characters
  assert.is(codeOf(() => checkSocketPath("/" + "é".repeat(51))), "INVALID_ARGUMENT");
  assert.is(codeOf(() => checkSocketPath("relative.sock")), "INVALID_ARGUMENT");
});

test("a runtime dir too deep for the socket fails config rendering with a clear message", () => {
  const paths = new Paths({ state: "/var/lib/svcd", runtime: "/run/" + "x".repeat(100) });
  try {
    renderContainerdConfig(paths);
    assert.unreachable("should have thrown");
  } catch (err) {
    assert.ok(SvcdError.is(err));
    assert.is(err.code, "INVALID_ARGUMENT");
    assert.match(err.message, /108 bytes/);
  }
});

test.run();
