// The hosts store on a real filesystem: files and their owner, in-place rewrites seen through a bind mount (same
// inode), hostile input refused with nothing written, concurrent writers serialised by the store's flock.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SvcdError } from "../../../src/common/errors.js";
import { processStartTime } from "../../../src/common/owner.js";
import { Paths } from "../../../src/common/paths.js";
import { engineRunner, testRuntimeDir } from "../../rig/engine.js";
import { HostsStore } from "../../../src/network/index.js";

// The mount below is made where the engine makes its mounts (the user engine's mount namespace when rootless), so
// what it shows is read there too.
const runner = engineRunner();
const runtime = testRuntimeDir();
const paths = new Paths({ state: join(runtime, "state"), runtime });
const store = new HostsStore({ paths, runner });

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return SvcdError.is(err) ? err.code : `not-svcd: ${String(err)}`;
  }
}

/** A file's content as the engine's mount namespace sees it. */
async function readThere(path: string): Promise<string> {
  const r = await runner.run("cat", [path]);
  assert.is(r.exitCode, 0, r.stderr);
  return r.stdout;
}

test.after(() => rmSync(runtime, { recursive: true, force: true }));

test("create writes hosts, resolv.conf, hostname and the owner", async () => {
  const files = await store.create("hs-one", {
    hostname: "s68ro6ncfqd1q",
    ip: "10.89.20.2",
    sessionId: "sess1",
    entries: [{ ip: "10.89.20.3", names: ["www", "0dief2v8in7fi"] }],
  });
  assert.is(files.hostsPath, join(paths.hostsDir, "hs-one", "hosts"));
  const hosts = readFileSync(files.hostsPath, "utf8");
  assert.match(hosts, /^127\.0\.0\.1 localhost$/m);
  assert.match(hosts, /^::1 localhost ip6-localhost ip6-loopback$/m);
  assert.match(hosts, /^10\.89\.20\.2 s68ro6ncfqd1q$/m);
  assert.match(hosts, /# svcd: managed block\n10\.89\.20\.3 www 0dief2v8in7fi\n# svcd: end\n$/);
  assert.is(readFileSync(files.hostnamePath, "utf8"), "s68ro6ncfqd1q\n");
  assert.match(readFileSync(files.resolvConfPath, "utf8"), /^options ndots:0$/m);
  assert.not.match(readFileSync(files.resolvConfPath, "utf8"), /nameserver/);
  assert.is(statSync(files.hostsPath).mode & 0o777, 0o644);
  assert.equal(await store.list(), [
    { id: "hs-one", sessionId: "sess1", ownerPid: process.pid, ownerStartTime: processStartTime(process.pid)! },
  ]);
  assert.is(await codeOf(store.create("hs-one", { hostname: "x", sessionId: "sess1" })), "ALREADY_EXISTS");
});

test("setEntries rewrites the managed block in place: same inode, visible through a bind mount", async () => {
  const { hostsPath } = await store.create("hs-bind", { hostname: "me", ip: "10.89.20.4", sessionId: "s" });
  const target = join(runtime, "bind-target");
  writeFileSync(target, "");
  const mount = await runner.run("mount", ["--bind", hostsPath, target]);
  assert.is(mount.exitCode, 0, mount.stderr);
  try {
    const inode = statSync(hostsPath).ino;
    await store.setEntries("hs-bind", [{ ip: "10.89.20.9", names: ["db", "db.m0.s0.svcd.local"] }]);
    assert.is(statSync(hostsPath).ino, inode);
    assert.match(await readThere(target), /\n10\.89\.20\.9 db db\.m0\.s0\.svcd\.local\n# svcd: end\n$/);
    await store.setEntries("hs-bind", []); // shorter: the tail must be truncated
    const after = await readThere(target);
    assert.ok(after.endsWith("# svcd: managed block\n# svcd: end\n"), after);
    assert.not.match(after, /db/);
    assert.match(after, /^10\.89\.20\.4 me$/m, "the lines above the block stay");
    assert.is(statSync(hostsPath).ino, inode);
  } finally {
    await runner.run("umount", [target]);
  }
});

test("hostile names and addresses are refused and nothing is written", async () => {
  const { hostsPath } = await store.create("hs-hostile", { hostname: "safe", sessionId: "s" });
  const before = readFileSync(hostsPath, "utf8");
  for (const names of [["www\n1.2.3.4 evil"], ["ok", "two words"], ["a#comment"], [""]]) {
    assert.is(await codeOf(store.setEntries("hs-hostile", [{ ip: "10.89.20.5", names }])), "INVALID_ARGUMENT", JSON.stringify(names));
  }
  assert.is(await codeOf(store.setEntries("hs-hostile", [{ ip: "10.89.20.5\n1.2.3.4", names: ["x"] }])), "INVALID_ARGUMENT");
  assert.is(readFileSync(hostsPath, "utf8"), before);

  assert.is(await codeOf(store.create("hs-evil", { hostname: "www\n1.2.3.4 evil", sessionId: "s" })), "INVALID_ARGUMENT");
  assert.is(await codeOf(store.create("hs-evil", { hostname: "ok", ip: "1.2.3.4 evil", sessionId: "s" })), "INVALID_ARGUMENT");
  assert.is(
    await codeOf(store.create("hs-evil", { hostname: "ok", sessionId: "s", entries: [{ ip: "10.0.0.1", names: ["www\n1.2.3.4 evil"] }] })),
    "INVALID_ARGUMENT",
  );
  assert.is(await codeOf(store.create("../evil", { hostname: "ok", sessionId: "s" })), "INVALID_ARGUMENT");
  assert.is(await codeOf(store.create("hs-evil", { hostname: "ok", sessionId: "" })), "INVALID_ARGUMENT");
  assert.not.ok(readdirSync(paths.hostsDir).includes("hs-evil"), "no directory for a refused create");
});

test("concurrent setEntries from many writers leave one well-formed block", async () => {
  const { hostsPath } = await store.create("hs-race", { hostname: "race", ip: "10.89.20.6", sessionId: "s" });
  const inode = statSync(hostsPath).ino;
  const writes = Array.from({ length: 12 }, (_, i) =>
    store.setEntries("hs-race", Array.from({ length: i + 1 }, (_, j) => ({ ip: `10.89.21.${j + 1}`, names: [`svc${i}x${j}`] }))),
  );
  await Promise.all(writes);
  const text = readFileSync(hostsPath, "utf8");
  assert.is(text.split("# svcd: managed block").length, 2);
  const block = text.slice(text.indexOf("# svcd: managed block")).split("\n").slice(1, -2);
  const writer = /^10\.89\.21\.1 svc(\d+)x0$/.exec(block[0] ?? "")?.[1];
  assert.ok(writer !== undefined, text);
  assert.is(block.length, Number(writer) + 1, "exactly one writer's entries, complete");
  assert.is(statSync(hostsPath).ino, inode);
});

/** Bytes this process has read through read(2) and friends so far (/proc/self/io rchar). */
function bytesRead(): number {
  return Number(/^rchar: (\d+)$/m.exec(readFileSync("/proc/self/io", "utf8"))?.[1]);
}

test("a hosts file filled from inside (a remounted bind) is rewritten whole without being read", async () => {
  const { hostsPath } = await store.create("hs-flood", { hostname: "flood", ip: "10.89.20.7", sessionId: "s" });
  const inode = statSync(hostsPath).ino;
  const flood = Buffer.alloc(32 * 1024 * 1024, "# svcd: managed block\n");
  writeFileSync(hostsPath, flood); // what a container with insecureRootCapabilities could do after a remount
  try {
    const before = bytesRead();
    await store.setEntries("hs-flood", [{ ip: "10.89.20.8", names: ["db"] }]);
    const read = bytesRead() - before;
    assert.ok(read < 1024 * 1024, `read ${read} bytes`);
    const text = readFileSync(hostsPath, "utf8");
    assert.ok(text.length < 1024, `rewritten whole: ${text.length} bytes`);
    assert.match(text, /^10\.89\.20\.7 flood$/m);
    assert.match(text, /# svcd: managed block\n10\.89\.20\.8 db\n# svcd: end\n$/);
    assert.is(statSync(hostsPath).ino, inode, "same inode: the bind mount keeps seeing it");
  } finally {
    await store.remove("hs-flood");
  }
});

test("setEntries on an unknown container is NotFound; remove is idempotent; list skips strays", async () => {
  assert.is(await codeOf(store.setEntries("hs-missing", [])), "NOT_FOUND");
  writeFileSync(join(paths.hostsDir, "stray-file"), "x");
  const ids = (await store.list()).map((r) => r.id);
  assert.equal(ids, ["hs-bind", "hs-hostile", "hs-one", "hs-race"]);
  for (const id of ids) {
    await store.remove(id);
    await store.remove(id);
  }
  assert.equal(await store.list(), []);
  assert.equal(readdirSync(paths.hostsDir), ["stray-file"]);
});

test.run();
