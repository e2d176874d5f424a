import { test } from "uvu";
import * as assert from "uvu/assert";
import { Client } from "../../../src/api/client.js";
import { CacheVolume } from "../../../src/api/cache-volume.js";
import { Directory } from "../../../src/api/directory.js";
import { isCode } from "../../helpers/errors.js";
import { MAX_INLINE_BYTES, type Engine } from "../../../src/definition/index.js";

// Builders never reach the engine: a client whose engine never resolves proves it.
const client = new Client(new Promise<Engine>(() => {}));

test("builders are immutable: each with* returns a new container", () => {
  const base = client.container().from("busybox");
  const a = base.withEnvVariable("A", "1");
  const b = base.withEnvVariable("A", "2");
  assert.is(base.definition().ops.length, 1);
  assert.equal(a.definition().ops[1], { op: "env", name: "A", value: "1" });
  assert.equal(b.definition().ops[1], { op: "env", name: "A", value: "2" });
});

test("definitions are plain JSON", () => {
  const def = client.container().from("python").withWorkdir("/srv").withNewFile("index.html", "Hello", { permissions: 0o600 })
    .withExposedPort(8080).withExec(["ls"], { expect: "ANY", stdin: "x" }).definition();
  assert.equal(JSON.parse(JSON.stringify(def)), def);
});

test("invalid input fails at the builder call", () => {
  const c = client.container().from("busybox");
  assert.throws(() => c.withEnvVariable("A=B", "1"), isCode("INVALID_ARGUMENT"));
  assert.throws(() => c.withExposedPort(70000), isCode("INVALID_ARGUMENT"));
  assert.throws(() => c.withExec("ls" as unknown as string[]), isCode("INVALID_ARGUMENT"));
  assert.throws(() => c.withNewFile("f", "x", { permissions: 0o10000 }), isCode("INVALID_ARGUMENT"));
  assert.throws(() => client.cacheVolume("../etc"), isCode("INVALID_ARGUMENT"));
  assert.throws(() => c.withExec(["ls"], { expect: "MAYBE" as "ANY" }), isCode("INVALID_ARGUMENT"));
});

test("paths that climb above / from the builder's workdir fail at the call", () => {
  const c = client.container().from("busybox");
  const srv = c.withWorkdir("/srv");
  const cache = client.cacheVolume("v");
  const dir = client.host().directory("/tmp");
  for (const [what, call] of [
    ["workdir", () => c.withWorkdir("..")],
    ["workdir", () => srv.withWorkdir("../../x")],
    ["file path", () => c.withNewFile("../etc/x", "x")],
    ["file path", () => srv.withNewFile("/../etc/x", "x")],
    ["file path", () => srv.withWorkdir("a").withNewFile("../../../x", "x")],
    ["mount path", () => srv.withMountedCache("../../c", cache)],
    ["mount path", () => c.withMountedDirectory("../d", dir)],
    ["file path", () => srv.file("../../etc/shadow")],
    ["file path", () => c.file("")],
  ] as const) {
    assert.throws(call, isCode("INVALID_ARGUMENT", new RegExp(what)), what);
  }
  // Within the workdir's depth they pass; a later from() starts over at /.
  assert.is(srv.withWorkdir("app").withNewFile("../x", "x").definition().ops.length, 4);
  assert.throws(() => srv.from("busybox").withNewFile("../x", "x"), isCode("INVALID_ARGUMENT"));
  srv.file("../etc/passwd");
});

test("image references are parsed by from()", () => {
  const c = client.container();
  for (const bad of ["busybox\n", "busy\0box", "BusyBox", "a".repeat(300), "busybox@sha256:abc", ""]) {
    assert.throws(() => c.from(bad), isCode("INVALID_ARGUMENT", /image reference/), JSON.stringify(bad).slice(0, 40));
  }
  // Kept as spelled: normalising would change existing digests.
  assert.equal(c.from("busybox").definition().ops, [{ op: "from", ref: "busybox" }]);
});

test("inline data over the cap, options of the wrong type and look-alike objects fail at the call", () => {
  const c = client.container().from("busybox");
  const big = "x".repeat(MAX_INLINE_BYTES + 1);
  assert.throws(() => c.withNewFile("/big", big), isCode("INVALID_ARGUMENT", /contents of "\/big" is 8388609 bytes/));
  assert.throws(() => c.withExec(["cat"], { stdin: big }), isCode("INVALID_ARGUMENT", /stdin/));
  assert.throws(() => c.withNewFile("f", "x", null as unknown as {}), isCode("INVALID_ARGUMENT", /withNewFile options/));
  assert.throws(() => c.withExec(["true"], "x" as unknown as {}), isCode("INVALID_ARGUMENT", /withExec options/));
  assert.throws(() => c.withExec(["true"], { useEntrypoint: "no" as unknown as boolean }), isCode("INVALID_ARGUMENT", /useEntrypoint/));
  assert.throws(() => c.withMountedDirectory("/d", client.host().directory("/tmp"), { readOnly: "false" as unknown as boolean }), isCode("INVALID_ARGUMENT", /readOnly/));
  assert.throws(() => c.withoutExposedPort(80, { protocol: "SCTP" as "TCP" }), isCode("INVALID_ARGUMENT", /protocol "SCTP"/));
  assert.throws(() => c.withMountedCache("/c", { name: "../../etc" } as CacheVolume), isCode("INVALID_ARGUMENT", /CacheVolume/));
  assert.throws(() => c.withMountedDirectory("/d", { hostPath: "/etc\0" } as Directory), isCode("INVALID_ARGUMENT", /Directory/));
  assert.throws(() => c.withUser("root\u0001"), isCode("INVALID_ARGUMENT", /user/));
  assert.throws(() => client.host().directory(""), isCode("INVALID_ARGUMENT", /host directory path/));
  assert.throws(() => client.host().directory("/tmp\0x"), isCode("INVALID_ARGUMENT", /host directory path/));
});

test("endpoint() and up() check their options before asking the engine", async () => {
  const svc = client.container().from("busybox").withExposedPort(80).asService();
  // The engine never resolves: reaching it would hang, so a rejection proves the check came first.
  for (const [what, call] of [
    ["endpoint port", () => svc.endpoint({ port: 0 })],
    ["endpoint port", () => svc.endpoint({ port: 65536 })],
    ["endpoint scheme", () => svc.endpoint({ scheme: "a b" })],
    ["backend port", () => svc.up({ ports: [{ backend: -1 }] })],
    ["frontend port", () => svc.up({ ports: [{ backend: 80, frontend: 1.5 }] })],
    ["protocol", () => svc.up({ ports: [{ backend: 80, protocol: "SCTP" as "TCP" }] })],
    ["bind address", () => svc.up({ bind: "localhost" })],
    ["bind address", () => svc.up({ bind: "fe80::1%eth0" })],
    ["random", () => svc.up({ random: "yes" as unknown as boolean })],
    ["up options", () => svc.up(null as unknown as {})],
    ["kill", () => svc.stop({ kill: 1 as unknown as boolean })],
  ] as const) {
    const err = await (call() as Promise<unknown>).then(() => undefined, (e: unknown) => e);
    assert.ok(isCode("INVALID_ARGUMENT", new RegExp(what))(err), `${what}: ${String(err)}`);
  }
});

test.run();
