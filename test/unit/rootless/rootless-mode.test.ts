// Pure parts of rootless mode: the per-user Paths, /etc/subuid parsing and the prerequisite checks (against fixture
// trees), the runtime-root claim, and the nsenter argv of the NamespaceRunner.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Paths } from "../../../src/common/paths.js";
import { checkRootlessPrerequisites, claimRuntimeRoot, NamespaceRunner, subIdRanges } from "../../../src/rootless/index.js";

test("Paths.forUser: XDG dirs, defaults under HOME, /tmp/svcd-<uid> without a runtime dir; relative XDG values ignored", () => {
  const a = Paths.forUser(1000, { HOME: "/home/a", XDG_DATA_HOME: "/d", XDG_RUNTIME_DIR: "/run/user/1000" });
  assert.is(a.state, "/d/svcd");
  assert.is(a.runtime, "/run/user/1000/svcd");
  const b = Paths.forUser(1001, { HOME: "/home/b" });
  assert.is(b.state, "/home/b/.local/share/svcd");
  assert.is(b.runtime, "/tmp/svcd-1001");
  const c = Paths.forUser(1002, { HOME: "/home/c", XDG_DATA_HOME: "rel", XDG_RUNTIME_DIR: "also/rel" });
  assert.is(c.state, "/home/c/.local/share/svcd");
  assert.is(c.runtime, "/tmp/svcd-1002");
  const d = Paths.fromEnv({ HOME: "/home/d", SVCD_RUNTIME_DIR: "/x" }, 1003);
  assert.is(d.runtime, "/x");
  assert.is(d.state, "/home/d/.local/share/svcd");
  assert.is(Paths.fromEnv({}).state, "/var/lib/svcd");
  assert.is(a.rootlesskitState, "/run/user/1000/svcd/rootlesskit");
});

test("subIdRanges: by name or uid, malformed lines skipped", () => {
  const text = "alice:100000:65536\n1001:300000:1000\nbob:200000:65536\nalice:bad:1\nalice:5:0\n\n";
  assert.equal(subIdRanges(text, "alice", 1001), [{ start: 100000, count: 65536 }, { start: 300000, count: 1000 }]);
  assert.equal(subIdRanges(text, "carol", 1002), []);
});

function fixtureRoot(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "svcd-prereq-"));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(join(root, rel, ".."), { recursive: true });
    writeFileSync(join(root, rel), content);
  }
  return root;
}

function binDir(names: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "svcd-bin-"));
  for (const n of names) {
    writeFileSync(join(dir, n), "#!/bin/sh\n");
    chmodSync(join(dir, n), 0o755);
  }
  return dir;
}

const ALL = ["newuidmap", "newgidmap", "rootlesskit", "nsenter", "unshare"];
const ok = { "etc/subuid": "alice:100000:65536\n", "etc/subgid": "alice:100000:65536\n", "proc/sys/user/max_user_namespaces": "100\n" };

test("prerequisites: each missing one is an EngineUnavailableError naming its fix", () => {
  const check = (files: Record<string, string>, bins: string[]) => () =>
    checkRootlessPrerequisites({ uid: 1001, user: "alice", root: fixtureRoot(files), env: { PATH: binDir(bins) } });
  // Binaries made by this (non-root or root) test are not root-owned setuid helpers, except when the test runs as root.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) check(ok, ALL)();
  assert.throws(check({ ...ok, "etc/subuid": "bob:1:65536\n" }, ALL), (e: Error) => /no subordinate uid range in \/etc\/subuid/.test(e.message) && /usermod --add-subuids/.test(e.message) && (e as { code?: string }).code === "UNAVAILABLE");
  assert.throws(check({ ...ok, "etc/subgid": "alice:1:100\n" }, ALL), /only 100 subordinate gids in \/etc\/subgid/);
  assert.throws(check({ ...ok, "proc/sys/user/max_user_namespaces": "0\n" }, ALL), /user\.max_user_namespaces = 0/);
  assert.throws(check({ ...ok, "proc/sys/kernel/unprivileged_userns_clone": "0\n" }, ALL), /unprivileged_userns_clone/);
  assert.throws(check({ ...ok, "proc/sys/kernel/apparmor_restrict_unprivileged_userns": "1\n" }, ALL), /AppArmor/);
  assert.throws(check(ok, ALL.filter((b) => b !== "rootlesskit")), /rootlesskit is not installed.*apt-get install rootlesskit/);
  assert.throws(check(ok, ALL.filter((b) => b !== "newgidmap")), /newgidmap is not installed.*apt-get install uidmap/);
});

test("claimRuntimeRoot: creates 0700, accepts the user's own, refuses a link or another user's directory", () => {
  const base = mkdtempSync(join(tmpdir(), "svcd-claim-"));
  const uid = process.getuid!();
  claimRuntimeRoot(join(base, "mine"), uid);
  claimRuntimeRoot(join(base, "mine"), uid); // idempotent
  symlinkSync(join(base, "mine"), join(base, "link"));
  assert.throws(() => claimRuntimeRoot(join(base, "link"), uid), /not a directory.*not by you/);
  assert.throws(() => claimRuntimeRoot(join(base, "mine"), uid + 1), /owned by uid \d+, not by you/);
});

test("NamespaceRunner: nsenter into the holder's user and mount namespaces, cwd inside; a dead holder is refused", () => {
  const r = new NamespaceRunner(() => 4242);
  assert.equal(r.wrap("ip", ["link"], "/srv"), ["--preserve-credentials", "-U", "-m", "-t", "4242", "--wd=/srv", "--", "ip", "link"]);
  assert.equal(r.wrap("true", []).slice(5), ["--wd=/", "--", "true"]);
  assert.ok(r.userNamespace);
  assert.throws(() => new NamespaceRunner(() => 1).wrap("true", []), /not held by a live process/);
});

test("NamespaceRunner: a helper that is `nsenter --net=<file>` becomes one nsenter, the file named through the holder's /proc/<pid>/root", () => {
  const r = new NamespaceRunner(() => 4242);
  const enter = ["--preserve-credentials", "-U", "-m", "-t", "4242"];
  assert.equal(r.wrap("nsenter", ["--net=/tmp/svcd-1/netns/hub", "--", "nft", "-f", "-"]), [...enter, "--net=/proc/4242/root/tmp/svcd-1/netns/hub", "--wd=/", "--", "nft", "-f", "-"]);
  assert.equal(r.wrap("nsenter", ["--net=/x/n", "true"], "/srv"), [...enter, "--net=/proc/4242/root/x/n", "--wd=/srv", "--", "true"]);
  // Anything else nsenter is given stays a nested nsenter, as it is.
  for (const args of [["--net=rel/n", "true"], ["--net=/x/n", "-t", "1", "true"], ["--net=/x/n", "--"], ["-t", "1", "-n", "true"], ["--mount=/x/m", "--", "true"]]) {
    assert.equal(r.wrap("nsenter", args), [...enter, "--wd=/", "--", "nsenter", ...args]);
  }
});

test("NamespaceRunner: a helper that is not installed fails as on the host (not installed), not as nsenter's exit 127", async () => {
  const r = new NamespaceRunner(() => 4242);
  for (const file of ["/nonexistent/slirp4netns", "svcd-no-such-helper"]) {
    const err = await r.run(file, ["x"]).then(() => undefined, (e: unknown) => e as { code?: string; message: string });
    assert.is(err?.code, "UNAVAILABLE", file);
    assert.match(err!.message, /is not installed/);
  }
});

test.run();
