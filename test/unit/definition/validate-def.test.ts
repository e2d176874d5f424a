import { test } from "uvu";
import * as assert from "uvu/assert";
import { Client } from "../../../src/api/client.js";
import { assertContainerDef, assertServiceDef, MAX_BINDING_DEPTH, type ContainerDef, type Engine, type ServiceDef } from "../../../src/definition/index.js";
import { isCode } from "../../helpers/errors.js";

const client = new Client(new Promise<Engine>(() => {}));

const db = client.container().from("busybox").withExposedPort(5432, { description: "pg" }).asService({ args: ["sleep", "1"], healthcheckTimeoutMs: 5 }).withHostname("db");
const full = client.container().from("python").withWorkdir("/srv").withNewFile("index.html", "hi", { permissions: 0o600 })
  .withEnvVariable("A", "1").withoutEnvVariable("B").withEntrypoint(["sh"], { keepDefaultArgs: true }).withDefaultArgs(["-c"])
  .withUser("1000:1000").withExposedPort(8080).withoutExposedPort(9090, { protocol: "UDP" })
  .withMountedCache("cache", client.cacheVolume("pip")).withMountedDirectory("src", client.host().directory("/tmp"))
  .withServiceBinding("db", db).withServiceBinding("h", client.service("tcp://[::1]:3306"))
  .withExec(["ls"], { stdin: "x", expect: "ANY" });

test("every definition the builders make passes", () => {
  assertContainerDef(full.definition());
  assertServiceDef(full.asService().definition());
  assertServiceDef(db.definition());
  assertContainerDef(full.withExec(["id"], { insecureRootCapabilities: true }).definition());
  assertServiceDef(full.asService({ insecureRootCapabilities: true }).definition());
  assertServiceDef(client.host().service([{ backend: 1, frontend: 2, protocol: "UDP" }], { host: "db.internal" }).definition());
});

test("a hand-made definition with a hostile field is refused, naming it", () => {
  const base = full.definition();
  const bad = (mutate: (ops: ContainerDef["ops"]) => void): ContainerDef => {
    const def = structuredClone(base);
    mutate(def.ops);
    return def;
  };
  const cases: [string, ContainerDef, RegExp][] = [
    ["path climbs", bad((ops) => ops.push({ op: "newFile", path: "../../../x", contents: "", permissions: 0o644 })), /ops\[\d+\]\.path "\.\.\/\.\.\/\.\.\/x" escapes/],
    ["alias with newline", bad((ops) => ops.push({ op: "bindService", alias: "a\n1.2.3.4 b", service: db.definition() })), /service alias/],
    ["volume with a slash", bad((ops) => ops.push({ op: "mountCache", path: "/c", volume: "../etc", sharing: "SHARED" })), /cache volume name/],
    ["relative host path", bad((ops) => ops.push({ op: "mountDirectory", path: "/d", directory: { hostPath: "etc" }, readOnly: true })), /hostPath "etc" must be absolute/],
    ["NUL arg", bad((ops) => ops.push({ op: "exec", args: ["a\0"], useEntrypoint: false, expect: "SUCCESS" })), /args\[0\]/],
    ["env name with =", bad((ops) => ops.push({ op: "env", name: "A=B", value: "" })), /environment variable name "A=B"/],
    ["port 0", bad((ops) => ops.push({ op: "exposePort", port: 0, protocol: "TCP", skipHealthcheck: false })), /port 0/],
    ["unknown op", bad((ops) => ops.push({ op: "chmod" } as unknown as ContainerDef["ops"][number])), /unknown operation "chmod"/],
    ["huge file", bad((ops) => ops.push({ op: "newFile", path: "/f", contents: "x".repeat(8 * 1024 * 1024 + 1), permissions: 0o644 })), /contents is 8388609 bytes/],
    ["user with a newline", bad((ops) => ops.push({ op: "user", user: "root\nx" })), /user/],
    ["ref with a newline", bad((ops) => ops.unshift({ op: "from", ref: "busybox\n" })), /ref/],
    ["insecure flag \"yes\"", bad((ops) => ops.push({ op: "exec", args: ["true"], useEntrypoint: false, expect: "SUCCESS", insecureRootCapabilities: "yes" as unknown as true })), /insecureRootCapabilities "yes"/],
  ];
  for (const [name, def, message] of cases) assert.throws(() => assertContainerDef(def), isCode("INVALID_ARGUMENT", message), name);
  assert.throws(() => assertContainerDef(null), isCode("INVALID_ARGUMENT"));
  assert.throws(() => assertContainerDef({ ops: "x" }), isCode("INVALID_ARGUMENT", /ops must be an array/));
});

test("service definitions: hostnames, hosts, ports, kinds and nesting depth", () => {
  const host = client.service("tcp://localhost:1").definition();
  for (const [name, def, message] of [
    ["hostname with a dot", { ...db.definition(), hostname: "a.b" }, /hostname "a\.b"/],
    ["host with user info", { ...host, host: "u@h" }, /host "u@h"/],
    ["host port 65536", { ...host, ports: [{ frontend: 1, backend: 65536, protocol: "TCP" }] }, /backend port 65536/],
    ["no ports", { ...host, ports: [] }, /at least one port/],
    ["unknown kind", { kind: "vm" }, /unknown kind "vm"/],
    ["timeout 0", { ...db.definition(), healthcheckTimeoutMs: 0 }, /healthcheckTimeoutMs/],
    ["insecure flag false", { ...db.definition(), insecureRootCapabilities: false }, /insecureRootCapabilities false/],
  ] as [string, unknown, RegExp][]) {
    assert.throws(() => assertServiceDef(def), isCode("INVALID_ARGUMENT", message), name);
  }
  // A chain of services binding services deeper than the cap (a hostile wire definition, not a real graph).
  let deep: ServiceDef = client.container().from("busybox").asService().definition();
  for (let i = 0; i <= MAX_BINDING_DEPTH; i++) {
    deep = { kind: "container", useEntrypoint: false, container: { ops: [{ op: "from", ref: "busybox" }, { op: "bindService", alias: "s", service: deep }] } };
  }
  assert.throws(() => assertServiceDef(deep), isCode("INVALID_ARGUMENT", /more than 32 deep/));
});

test.run();
