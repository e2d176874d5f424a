// The hostile-input battery (issue 8, item 7): every boundary input of the public API, in one table. Each bad value
// gets an InvalidArgumentError (code INVALID_ARGUMENT) whose message names the parameter and the value, and nothing
// is created: containerd's objects in this namespace and the files under SVCD_STATE_DIR / SVCD_RUNTIME_DIR are the
// same before and after. Where it fails: `sync` rows throw at the builder call that took the value (DESIGN.md: hostile
// input fails at the call that took it); `async` rows are Promise-returning calls that reject before the engine is
// asked; `eval` rows need the host (does a host directory exist?) and fail when evaluated, before anything is made.
// `engine.*` rows hand a hand-built definition (the daemon's wire input) straight to the engine, which refuses it at
// its door.
// The host-directory walk is tested here too: it never follows a symlink out of the directory.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { lstat, mkdir, mkdtemp, readdir, rm, stat, symlink, utimes, lutimes, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { ContainerdClient } from "../../../src/containerd/index.js";
import { enginePaths } from "../../rig/engine.js";
import { MAX_ARG_BYTES, MAX_INLINE_BYTES, type ContainerDef, type ServiceDef } from "../../../src/definition/index.js";
import { CacheVolume, Directory, InvalidArgumentError, type Client, type Container } from "../../../src/index.js";
import { connect } from "../../rig/connect.js";

const NAMESPACE = "svcd-test-hostile";
const address = process.env.CONTAINERD_ADDRESS ?? "/run/containerd/containerd.sock";

interface Ctx {
  client: Client;
  /** A directory outside every test directory, for symlinks to point at. */
  outside: string;
  dir: string;
}
const test = suite<Ctx>("hostile input");

type Stage = "sync" | "async" | "eval";
interface Row {
  /** What is tried, for the failure list. */
  name: string;
  stage: Stage;
  /** Substrings the message must hold: the parameter and (quoted) the value. */
  mentions: string[];
  run: (client: Client, ctx: Ctx) => unknown;
}

const q = (value: string) => JSON.stringify(value);
const base = (c: Client) => c.container().from("busybox");
const svc = (c: Client) => base(c).withExposedPort(8080).asService({ args: ["sleep", "60"] });
const bad = <T>(value: unknown) => value as T;

function rows(): Row[] {
  const out: Row[] = [];
  const add = (stage: Stage, name: string, mentions: string[], run: Row["run"]) => out.push({ stage, name, mentions, run });

  // --- image references: from(ref) parses them at the call ---
  for (const ref of ["busybox\n", "busy\0box", "busybox\nrm -rf /", "BusyBox", "user/Repo", "busybox@sha256:abc", `busybox@md5:${"a".repeat(32)}`, `busybox:${"t".repeat(129)}`, "", "../etc/passwd"]) {
    add("sync", `from(${q(ref)})`, ["image reference", q(ref)], (c) => c.container().from(ref));
  }
  add("sync", "from(overlong name)", ["image reference", "longer than 255"], (c) => c.container().from(`x.io/${"a".repeat(300)}`));
  add("sync", "from(5000 characters)", ["image reference", "too long"], (c) => c.container().from("a".repeat(5000)));
  add("sync", "from(42)", ["image reference", "number"], (c) => c.container().from(bad(42)));

  // --- aliases and hostnames: DNS labels only (DESIGN.md §3) ---
  const labels = ["www\n1.2.3.4 evil", "w\0w", "a".repeat(64), "WWW", "www.example.com", "", "-www", "www-", "w w", "w_w"];
  for (const label of labels) {
    add("sync", `withServiceBinding(${q(label.slice(0, 20))})`, ["service alias", q(label).slice(0, 40)], (c) => base(c).withServiceBinding(label, svc(c)));
    add("sync", `withHostname(${q(label.slice(0, 20))})`, ["hostname", q(label).slice(0, 40)], (c) => svc(c).withHostname(label));
  }
  add("sync", "withServiceBinding(alias, a look-alike service)", ["withServiceBinding", "Service"], (c) => base(c).withServiceBinding("db", bad({ definition: () => ({}) })));

  // --- container paths: NUL, empty, and `..` climbing above / after resolving against the workdir ---
  add("sync", "withNewFile(NUL path)", ["file path", q("a\0b")], (c) => base(c).withNewFile("a\0b", "x"));
  add("sync", "withNewFile(empty path)", ["file path", "empty"], (c) => base(c).withNewFile("", "x"));
  add("sync", "withNewFile(../../etc/x)", ["file path", q("../../etc/x"), "escapes"], (c) => base(c).withNewFile("../../etc/x", "x"));
  add("sync", "withNewFile(/../etc/x)", ["file path", q("/../etc/x"), "escapes"], (c) => base(c).withNewFile("/../etc/x", "x"));
  add("sync", "withWorkdir(/srv).withNewFile(../../x)", ["file path", q("../../x"), q("/srv")], (c) => base(c).withWorkdir("/srv").withNewFile("../../x", "x"));
  add("sync", "withWorkdir(/srv).withWorkdir(../..)", ["workdir", q("../.."), "escapes"], (c) => base(c).withWorkdir("/srv").withWorkdir("../.."));
  add("sync", "withWorkdir(NUL)", ["workdir", q("/s\0rv")], (c) => base(c).withWorkdir("/s\0rv"));
  add("sync", "withMountedCache(../c)", ["mount path", q("../c"), "escapes"], (c) => base(c).withMountedCache("../c", c.cacheVolume("v")));
  add("sync", "withMountedDirectory(/../d)", ["mount path", q("/../d"), "escapes"], (c, ctx) => base(c).withMountedDirectory("/../d", c.host().directory(ctx.dir)));
  add("sync", "withMountedDirectory(NUL)", ["mount path", q("/d\0")], (c, ctx) => base(c).withMountedDirectory("/d\0", c.host().directory(ctx.dir)));
  // file(path) used to resolve only after building every step: a climb is now refused before any step is built.
  add("sync", "file(../../etc/shadow) after a build step", ["file path", q("../../etc/shadow"), "escapes"], (c) =>
    base(c).withWorkdir("/srv").withNewFile("f", `built ${Date.now()}`).file("../../etc/shadow"));
  add("sync", "file(NUL)", ["file path", q("/etc/\0")], (c) => base(c).file("/etc/\0"));
  add("sync", "host().directory(NUL)", ["host directory path", q("/tmp\0/x")], (c) => c.host().directory("/tmp\0/x"));
  add("sync", "host().directory(empty)", ["host directory path", "empty"], (c) => c.host().directory(""));
  add("sync", "withMountedDirectory(look-alike directory)", ["withMountedDirectory", "Directory"], (c) => base(c).withMountedDirectory("/d", bad<Directory>({ hostPath: "/etc\0" })));

  // --- environment variables ---
  for (const name of ["A=B", "A\0", "1A", "", "A B", "A\nB", "Ä"]) {
    add("sync", `withEnvVariable(${q(name)})`, ["environment variable name", q(name)], (c) => base(c).withEnvVariable(name, "v"));
  }
  add("sync", "withoutEnvVariable(A=B)", ["environment variable name", q("A=B")], (c) => base(c).withoutEnvVariable("A=B"));
  add("sync", "withEnvVariable(A, NUL value)", ["value of A", q("x\0y")], (c) => base(c).withEnvVariable("A", "x\0y"));

  // --- ports: 0, 65536, -1, 1.5 and non-numbers, everywhere a port is taken ---
  for (const port of [0, 65536, -1, 1.5, Number.NaN]) {
    const p = String(port);
    add("sync", `withExposedPort(${p})`, ["port", p], (c) => base(c).withExposedPort(port));
    add("sync", `withoutExposedPort(${p})`, ["port", p], (c) => base(c).withoutExposedPort(port));
    add("sync", `host().service([{ backend: ${p} }])`, ["backend port", p], (c) => c.host().service([{ backend: port }]));
    add("sync", `host().service([{ frontend: ${p} }])`, ["frontend port", p], (c) => c.host().service([{ backend: 80, frontend: port }]));
    add("async", `up({ ports: [{ backend: ${p} }] })`, ["backend port", p], (c) => svc(c).up({ ports: [{ backend: port }] }));
    add("async", `up({ ports: [{ frontend: ${p} }] })`, ["frontend port", p], (c) => svc(c).up({ ports: [{ backend: 8080, frontend: port }] }));
    add("async", `endpoint({ port: ${p} })`, ["endpoint port", p], (c) => svc(c).endpoint({ port }));
  }
  add("sync", "withExposedPort(\"80\")", ["port", "80"], (c) => base(c).withExposedPort(bad("80")));
  add("sync", "withExposedPort(80, SCTP)", ["protocol", q("SCTP")], (c) => base(c).withExposedPort(80, { protocol: bad("SCTP") }));
  add("sync", "withoutExposedPort(80, SCTP)", ["protocol", q("SCTP")], (c) => base(c).withoutExposedPort(80, { protocol: bad("SCTP") }));
  add("async", "up({ ports: [] })", ["up({ ports })", "at least one"], (c) => svc(c).up({ ports: [] }));
  add("async", "up({ bind: localhost })", ["bind address", q("localhost")], (c) => svc(c).up({ bind: "localhost" }));
  add("async", "up({ bind: zone })", ["bind address", q("fe80::1%eth0")], (c) => svc(c).up({ bind: "fe80::1%eth0" }));
  add("async", "up({ random: \"yes\" })", ["random", q("yes")], (c) => svc(c).up({ random: bad("yes") }));
  add("async", "endpoint({ scheme: \"a b\" })", ["endpoint scheme", q("a b")], (c) => svc(c).endpoint({ scheme: "a b" }));

  // --- command arguments ---
  add("sync", "withExec(NUL arg)", ["command[2]", q("echo \0")], (c) => base(c).withExec(["sh", "-c", "echo \0"]));
  add("sync", "withExec(not an array)", ["command", "array"], (c) => base(c).withExec(bad("ls")));
  add("sync", "withExec(number arg)", ["command[0]", "number"], (c) => base(c).withExec(bad([1])));
  add("sync", "withEntrypoint(NUL arg)", ["entrypoint[0]", q("a\0")], (c) => base(c).withEntrypoint(["a\0"]));
  add("sync", "withDefaultArgs(NUL arg)", ["default args[1]", q("\0")], (c) => base(c).withDefaultArgs(["sh", "\0"]));
  add("sync", "asService({ args: [NUL] })", ["service args[0]", q("x\0")], (c) => base(c).asService({ args: ["x\0"] }));
  add("sync", "withExec(expect: MAYBE)", ["expect", q("MAYBE")], (c) => base(c).withExec(["true"], { expect: bad("MAYBE") }));
  add("sync", "withUser(newline)", ["user", q("root\nx")], (c) => base(c).withUser("root\nx"));
  add("sync", "withUser(control)", ["user", q("root\u0001")], (c) => base(c).withUser("root\u0001"));

  // --- cache volumes ---
  for (const name of ["a/b", "../etc", "/abs", "", ".hidden", "a\0", "a\nb", "a".repeat(129)]) {
    add("sync", `cacheVolume(${q(name.slice(0, 20))})`, ["cache volume name", q(name).slice(0, 40)], (c) => c.cacheVolume(name));
  }
  add("sync", "withMountedCache(look-alike volume ../../etc)", ["withMountedCache", "CacheVolume"], (c) => base(c).withMountedCache("/c", bad<CacheVolume>({ name: "../../etc" })));
  add("sync", "withMountedCache(sharing BOGUS)", ["sharing", q("BOGUS")], (c) => base(c).withMountedCache("/c", c.cacheVolume("v"), { sharing: bad("BOGUS") }));

  // --- service URIs and dial hosts ---
  const uris: [string, string][] = [
    ["tcp://user:pw@localhost:3306", "user info"],
    ["tcp://user@localhost:3306", "user info"],
    ["tcp://[:::1]:3306", "not an IPv6 address"],
    ["tcp://[::1::2]:3306", "not an IPv6 address"],
    ["tcp://[1.2.3.4]:3306", "not an IPv6 address"],
    ["tcp://[fe80::1%eth0]:3306", "zone"],
    ["tcp://::1:3306", "bracket"],
    ["http://localhost:80", "scheme"],
    ["unix:///var/run/docker.sock", "scheme"],
    ["sctp://localhost:1", "scheme"],
    ["localhost:3306", "tcp://host:port"],
    ["tcp://localhost", "host:port"],
    ["tcp://localhost:0", "port"],
    ["tcp://localhost:65536", "port"],
    ["tcp://localhost:1/path", "path"],
    ["tcp://a..b:1", "host"],
    ["tcp://1.2.3.4.5:1", "host"],
    ["tcp://local host:1", "host"],
    ["tcp://localhost:1\n", "host:port"],
    ["tcp://local\0host:1", "NUL"],
  ];
  for (const [uri, reason] of uris) add("sync", `client.service(${q(uri)})`, ["service URI", q(uri), reason], (c) => c.service(uri));
  for (const host of ["evil host\n", "a..b", "999.1.1.1", "fe80::1%eth0", "x@y", "-a", "a".repeat(64)]) {
    add("sync", `host().service(host ${q(host.slice(0, 20))})`, ["host", q(host).slice(0, 40)], (c) => c.host().service([{ backend: 1 }], { host }));
  }
  add("sync", "host().service([])", ["at least one port"], (c) => c.host().service([]));
  add("sync", "host().service([null])", ["port 0", "null"], (c) => c.host().service([bad(null)]));

  // --- inline data: withNewFile contents and stdin above the cap ---
  const huge = "x".repeat(MAX_INLINE_BYTES + 1);
  add("sync", "withNewFile(8 MiB + 1 byte)", [`contents of ${q("/big")}`, `${MAX_INLINE_BYTES + 1} bytes`], (c) => base(c).withNewFile("/big", huge));
  add("sync", "withNewFile(NUL contents)", [`contents of ${q("f")}`, "NUL"], (c) => base(c).withNewFile("f", "a\0b"));
  const longArg = "x".repeat(MAX_ARG_BYTES + 1);
  add("sync", "withExec(an argument of 128 KiB)", ["command[1]", `${MAX_ARG_BYTES + 1} bytes`], (c) => base(c).withExec(["echo", longArg]));
  add("sync", "asService(args: an argument of 128 KiB)", ["service args[0]", `${MAX_ARG_BYTES + 1} bytes`], (c) => base(c).asService({ args: [longArg] }));
  add("sync", "withEnvVariable(a 128 KiB entry)", ["environment entry A=", `${MAX_ARG_BYTES + 1} bytes`], (c) => base(c).withEnvVariable("A", "x".repeat(MAX_ARG_BYTES - 1)));
  add("sync", "withExec(stdin 8 MiB + 1 byte)", ["stdin", `${MAX_INLINE_BYTES + 1} bytes`], (c) => base(c).withExec(["cat"], { stdin: huge }));

  // --- options of the wrong shape (each would be a TypeError or a silent truthy value otherwise) ---
  add("sync", "withNewFile(options null)", ["withNewFile options", "null"], (c) => base(c).withNewFile("f", "x", bad(null)));
  add("sync", "withNewFile(permissions 0o10000)", ["permissions", String(0o10000)], (c) => base(c).withNewFile("f", "x", { permissions: 0o10000 }));
  add("sync", "withNewFile(permissions -1)", ["permissions", "-1"], (c) => base(c).withNewFile("f", "x", { permissions: -1 }));
  add("sync", "withExec(options \"x\")", ["withExec options", "string"], (c) => base(c).withExec(["true"], bad("x")));
  add("sync", "withExec(useEntrypoint \"no\")", ["useEntrypoint", q("no")], (c) => base(c).withExec(["true"], { useEntrypoint: bad("no") }));
  add("sync", "withMountedDirectory(readOnly \"false\")", ["readOnly", q("false")], (c, ctx) => base(c).withMountedDirectory("/d", c.host().directory(ctx.dir), { readOnly: bad("false") }));
  add("sync", "withEntrypoint(keepDefaultArgs 1)", ["keepDefaultArgs", "1"], (c) => base(c).withEntrypoint(["sh"], { keepDefaultArgs: bad(1) }));
  add("sync", "withExposedPort(skipHealthcheck \"yes\")", ["experimentalSkipHealthcheck", q("yes")], (c) => base(c).withExposedPort(80, { experimentalSkipHealthcheck: bad("yes") }));
  add("sync", "asService(healthcheckTimeoutMs 0)", ["healthcheckTimeoutMs", "0"], (c) => base(c).asService({ healthcheckTimeoutMs: 0 }));
  add("sync", "asService(options [])", ["asService options"], (c) => base(c).asService(bad([])));
  add("async", "up(options null)", ["up options", "null"], (c) => svc(c).up(bad(null)));
  add("async", "stop({ kill: 1 })", ["kill", "1"], (c) => svc(c).stop({ kill: bad(1) }));

  // --- the `{ signal }` of every evaluating call ---
  add("async", "sync({ signal: \"x\" })", ["sync options", "signal", q("x")], (c) => base(c).sync({ signal: bad("x") }));
  add("async", "stdout(null)", ["stdout options", "null"], (c) => base(c).withExec(["true"]).stdout(bad(null)));
  add("async", "digest({ signal: {} })", ["digest options", "signal"], (c) => base(c).digest({ signal: bad({ aborted: false }) }));
  add("async", "file().contents(\"x\")", ["contents options", "string"], (c) => base(c).file("/etc/passwd").contents(bad("x")));
  add("async", "hostname({ signal: 1 })", ["hostname options", "signal"], (c) => svc(c).hostname({ signal: bad(1) }));
  add("async", "start([])", ["start options"], (c) => svc(c).start(bad([])));
  add("async", "ports(\"x\")", ["ports options"], (c) => svc(c).ports(bad("x")));

  // --- connect() options: checked before an engine is started ---
  add("async", "connect({ signal: \"x\" })", ["connect options", "signal"], () => connect({ namespace: NAMESPACE, signal: bad("x") }));
  add("async", "connect({ onProgress: \"x\" })", ["onProgress", "function"], () => connect({ namespace: NAMESPACE, onProgress: bad("x") }));
  add("async", "connect({ sessionId: newline })", ["sessionId", q("a\nb")], () => connect({ namespace: NAMESPACE, sessionId: "a\nb" }));
  add("async", "connect({ sessionId: empty })", ["sessionId", q("")], () => connect({ namespace: NAMESPACE, sessionId: "" }));
  add("async", "connect({ moduleId: NUL })", ["moduleId", q("m\0")], () => connect({ namespace: NAMESPACE, moduleId: "m\0" }));
  add("async", "connect({ namespace: a/b })", ["namespace", q("a/b")], () => connect({ namespace: "a/b" }));
  add("async", "connect({ serviceGracePeriodMs: -1 })", ["serviceGracePeriodMs", "-1"], () => connect({ namespace: NAMESPACE, serviceGracePeriodMs: -1 }));
  add("async", "connect({ registryMirrors: file:// })", ["registryMirrors", q("file:///etc")], () => connect({ namespace: NAMESPACE, registryMirrors: { "docker.io": "file:///etc" } }));
  add("async", "connect({ registryMirrors: user info })", ["registryMirrors", "credentials"], () => connect({ namespace: NAMESPACE, registryMirrors: { "docker.io": "http://u:p@127.0.0.1:1" } }));
  add("async", "connect({ containerd: NUL })", ["containerd socket path", q("/run/x\0")], () => connect({ namespace: NAMESPACE, containerd: "/run/x\0" }));

  // --- hand-built definitions straight to the engine (the daemon's wire input): refused at its door ---
  const busybox = { op: "from", ref: "busybox" } as const;
  const wire = (...ops: unknown[]) => bad<ContainerDef>({ ops: [busybox, ...ops, { op: "exec", args: ["true"], useEntrypoint: false, expect: "SUCCESS" }] });
  const wireService = (fields: Record<string, unknown>, ...ops: unknown[]) => bad<ServiceDef>({ kind: "container", container: wire(...ops), useEntrypoint: false, ...fields });
  const envName = wire({ op: "env", name: "A=B", value: "" });
  add("async", "engine.sync(env name A=B)", ["environment variable name", q("A=B")], async (c) => (await c.engine()).sync(envName));
  add("async", "engine.readFile(env name A=B)", ["environment variable name", q("A=B")], async (c) => (await c.engine()).readFile(envName, "/etc/passwd"));
  add("async", "engine.digest(mountCache ../etc)", ["cache volume name", q("../etc")], async (c) => (await c.engine()).digest(wire({ op: "mountCache", path: "/c", volume: "../etc", sharing: "SHARED" })));
  add("async", "engine.serviceHostname(args with NUL)", ["args[0]"], async (c) => (await c.engine()).serviceHostname(wireService({ args: ["a\0"] })));
  add("async", "engine.startService(exposePort 0)", ["port", "0"], async (c) => (await c.engine()).startService(wireService({}, { op: "exposePort", port: 0, protocol: "TCP", skipHealthcheck: true })));
  add("async", "engine.stopService(healthcheckTimeoutMs -1)", ["healthcheckTimeoutMs", "-1"], async (c) => (await c.engine()).stopService(wireService({ healthcheckTimeoutMs: -1 }), { kill: true }));
  add("async", "engine.up(frontend 0)", ["frontend port", "0"], async (c) =>
    (await c.engine()).up(wireService({}, { op: "exposePort", port: 8080, protocol: "TCP", skipHealthcheck: true }), { ports: [{ backend: 8080, frontend: 0 }] }));
  add("async", "engine.up(host service for u@h)", ["host", q("u@h")], async (c) =>
    (await c.engine()).up(bad<ServiceDef>({ kind: "host", host: "u@h", ports: [{ frontend: 1, backend: 1, protocol: "TCP" }] }), { ports: [{ backend: 1 }], random: true }));

  // --- needs the host: a host directory that is missing or not a directory, found when evaluated ---
  const mounted = (c: Client, path: string): Container => base(c).withMountedDirectory("/src", c.host().directory(path)).withExec(["true"]);
  add("eval", "host().directory(missing) → sync()", ["host directory", "does not exist"], (c, ctx) => mounted(c, join(ctx.dir, "missing")).sync());
  add("eval", "host().directory(a file) → sync()", ["host directory", "is not a directory"], (c, ctx) => mounted(c, join(ctx.dir, "a.txt")).sync());
  add("eval", "host().directory(missing) → digest()", ["host directory", "does not exist"], (c, ctx) => mounted(c, join(ctx.dir, "missing")).digest());
  add("eval", "a bound service with a missing host directory → sync()", ["host directory", "does not exist"], (c, ctx) =>
    base(c).withServiceBinding("db", base(c).withMountedDirectory("/d", c.host().directory(join(ctx.dir, "missing"))).withExposedPort(80).asService()).withExec(["true"]).sync());
  add("eval", "up() of a service with a missing host directory", ["host directory", "does not exist"], (c, ctx) =>
    base(c).withMountedDirectory("/d", c.host().directory(join(ctx.dir, "missing"))).withExposedPort(80).asService().up({ ports: [{ backend: 80 }], random: true }));
  return out;
}

/** What exists: containerd's objects in the test namespace and every path under the SVCD_* roots. */
async function inventory(): Promise<string[]> {
  const client = new ContainerdClient({ address, namespace: NAMESPACE });
  const out: string[] = [];
  try {
    for (const c of (await client.containers.list({})).containers) out.push(`container ${c.id}`);
    for (const t of (await client.tasks.list({})).tasks) out.push(`task ${t.id}`);
    for await (const page of client.snapshots.list({ snapshotter: "overlayfs" })) for (const s of page.info) out.push(`snapshot ${s.name} ${s.kind}`);
    for (const l of (await client.leases.list({})).leases) out.push(`lease ${l.id}`);
    for (const i of (await client.images.list({})).images) out.push(`image ${i.name}`);
    for await (const page of client.content.list({})) for (const info of page.info) out.push(`content ${info.digest}`);
  } finally {
    client.close();
  }
  const paths = enginePaths();
  for (const root of [paths.state, paths.runtime]) {
    const walk = async (dir: string, depth: number): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        const full = join(dir, entry.name);
        out.push(`file ${relative("/", full)}`);
        // A managed containerd's own tree is not svcd's to compare (and churns on its own).
        if (entry.isDirectory() && depth < 6 && entry.name !== "containerd") await walk(full, depth + 1);
      }
    };
    await walk(root, 0);
  }
  return out.sort();
}

/** Runs one row; returns why it failed, or undefined when it failed as it should. */
async function check(row: Row, ctx: Ctx): Promise<string | undefined> {
  let err: unknown;
  try {
    const result = row.run(ctx.client, ctx);
    if (result instanceof Promise) {
      if (row.stage === "sync") {
        result.catch(() => {});
        return "returned a promise instead of throwing at the call";
      }
      const value = await result;
      if (value && typeof (value as Client).close === "function") await (value as Client).close();
      return "was accepted";
    }
    return row.stage === "sync" ? "was accepted" : "did not return a promise";
  } catch (caught) {
    err = caught;
  }
  if (!(err instanceof InvalidArgumentError)) return `threw ${String(err)}`;
  if (err.code !== "INVALID_ARGUMENT") return `code ${err.code}`;
  // Long values are cut in messages (never echoed whole): their first 60 characters must be there.
  const missing = row.mentions.filter((m) => !err.message.includes(m.slice(0, 60)));
  if (missing.length > 0) return `message ${JSON.stringify(err.message.slice(0, 200))} does not mention ${JSON.stringify(missing)}`;
  return undefined;
}

test.before(async (ctx) => {
  ctx.client = await connect({ namespace: NAMESPACE, serviceGracePeriodMs: 0 });
  // The image is shared cache, pulled once before the "before" inventory: rows must not create anything beyond it.
  await ctx.client.container().from("busybox").sync();
  ctx.outside = await mkdtemp(join(tmpdir(), "svcd-outside-"));
  ctx.dir = await mkdtemp(join(tmpdir(), "svcd-hostile-"));
  await writeFile(join(ctx.dir, "a.txt"), "inside\n");
});
test.after(async (ctx) => {
  await ctx.client.close();
  await rm(ctx.outside, { recursive: true, force: true });
  await rm(ctx.dir, { recursive: true, force: true });
});

test("every hostile input gets an InvalidArgumentError naming it, and nothing is created", async (ctx) => {
  const before = await inventory();
  const failures: string[] = [];
  const table = rows();
  for (const row of table) {
    const why = await check(row, ctx);
    if (why) failures.push(`[${row.stage}] ${row.name}: ${why}`);
  }
  const after = await inventory();
  for (const made of after.filter((x) => !before.includes(x))) failures.push(`created: ${made}`);
  for (const gone of before.filter((x) => !after.includes(x))) failures.push(`removed: ${gone}`);
  assert.equal(failures, [], `${failures.length} failures in ${table.length} rows:\n${failures.join("\n")}`);
});

test("well-formed neighbours of the hostile inputs pass (the checks are not blanket refusals)", async ({ client, dir }) => {
  const c = base(client);
  c.withWorkdir("/srv/app").withNewFile("../x", "x").withMountedCache("../../c", client.cacheVolume("pip-cache.v1_2"));
  c.withEnvVariable("A_1", "multi\nline = ok").withExposedPort(1).withExposedPort(65535).withUser("1000:1000");
  c.withNewFile("/max", "x".repeat(MAX_INLINE_BYTES));
  c.withExec(["echo", "x".repeat(MAX_ARG_BYTES)]).withEnvVariable("A", "x".repeat(MAX_ARG_BYTES - 2));
  c.withMountedDirectory("/d", client.host().directory(dir), { readOnly: false });
  client.container().from(`127.0.0.1:5000/library/busybox:latest@sha256:${"a".repeat(64)}`);
  svc(client).withHostname("db-1");
  c.withServiceBinding("a".repeat(63), svc(client));
  assert.is(client.service("tcp://db.internal:5432").definition().kind, "host");
  assert.equal(client.service("tcp://[::1]:3306").definition(), { kind: "host", host: "::1", ports: [{ frontend: 3306, backend: 3306, protocol: "TCP" }] });
  assert.is(await svc(client).endpoint({ port: 65535, scheme: "http" }).then((e) => e.endsWith(":65535")), true);
});

test("a bracketed IPv6 host service dials the caller's [::1]", async ({ client }) => {
  const server: Server = createServer((s) => s.end("over ipv6\n"));
  await new Promise<void>((resolve) => server.listen(0, "::1", resolve));
  const port = (server.address() as { port: number }).port;
  try {
    const out = await base(client).withEnvVariable("N", `${process.pid}-${Date.now()}`)
      .withServiceBinding("db", client.service(`tcp://[::1]:${port}`))
      .withExec(["sh", "-c", `nc -w 5 db ${port} </dev/null`]).stdout();
    assert.is(out, "over ipv6\n");
  } finally {
    server.close();
  }
});

/** The digest a container mounting `path` gets: what the host-directory walk computed. */
const mountDigest = (client: Client, path: string) => base(client).withMountedDirectory("/src", client.host().directory(path)).digest();

test("the host-directory walk never follows a symlink out of the directory", async ({ client, outside }) => {
  const dir = await mkdtemp(join(tmpdir(), "svcd-symlinks-"));
  try {
    await writeFile(join(dir, "a.txt"), "inside\n");
    await writeFile(join(outside, "secret"), "outside\n");
    await symlink("/etc", join(dir, "etc"));
    await symlink("/etc/passwd", join(dir, "passwd"));
    await symlink(outside, join(dir, "out"));
    await symlink(".", join(dir, "self"));
    await symlink("..", join(dir, "parent"));
    await symlink("/nonexistent/x", join(dir, "dangling"));
    // An atime canary: under relatime, listing the outside directory would move its atime forward (atime < mtime).
    const canary = async () => {
      const st = await stat(outside);
      await utimes(outside, new Date(0), st.mtime);
    };
    await canary();
    const first = await mountDigest(client, dir);

    // Whatever happens outside does not reach the digest: more files, a subtree, changed mtimes.
    await mkdir(join(outside, "tree/deeper"), { recursive: true });
    for (let i = 0; i < 50; i++) await writeFile(join(outside, "tree", `f${i}`), "x".repeat(i));
    await writeFile(join(outside, "secret"), "changed outside, longer now\n");
    await canary();
    assert.is(await mountDigest(client, dir), first, "the outside tree is not part of the digest");
    assert.is((await stat(outside)).atimeMs, 0, "the outside directory was never listed");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a symlink enters the digest by its target string", async ({ client }) => {
  const dir = await mkdtemp(join(tmpdir(), "svcd-symlinks-"));
  try {
    const link = join(dir, "link");
    const fixed = new Date(1_700_000_000_000);
    await symlink("/etc/aaa", link);
    await lutimes(link, fixed, fixed);
    await utimes(dir, fixed, fixed);
    const first = await mountDigest(client, dir);
    // Same length, mode and mtime: only the target differs.
    await rm(link);
    await symlink("/etc/bbb", link);
    await lutimes(link, fixed, fixed);
    await utimes(dir, fixed, fixed);
    assert.is((await lstat(link)).size, "/etc/aaa".length);
    assert.is.not(await mountDigest(client, dir), first);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the directory's own path is resolved once: a symlink to a directory mounts and digests as that directory", async ({ client, dir }) => {
  const link = join(await mkdtemp(join(tmpdir(), "svcd-link-")), "to-dir");
  try {
    await symlink(dir, link);
    assert.is(await mountDigest(client, link), await mountDigest(client, dir));
    const out = await base(client).withEnvVariable("N", `${process.pid}-${Date.now()}`)
      .withMountedDirectory("/src", client.host().directory(link)).withExec(["cat", "/src/a.txt"]).stdout();
    assert.is(out, "inside\n");
  } finally {
    await rm(join(link, ".."), { recursive: true, force: true });
  }
});

test.run();
