// svcd's systemd units and sysusers file, checked by systemd's own tools (no systemd runs here: the units run for
// real in the VM). `systemd-analyze verify` needs ExecStart's binary to exist, so each unit is copied to a temp dir
// with /usr/local/bin/svcd replaced by this node binary; everything else is verified as shipped. Unknown keys are
// only warnings to systemd-analyze: any output naming one of our units fails the test. The security-relevant
// directives (DESIGN.md §6) are asserted by value.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { suite } from "uvu";
import * as assert from "uvu/assert";

const repo = resolve(fileURLToPath(new URL("../../..", import.meta.url)));
const SYSTEM = join(repo, "packaging", "systemd");
const USER = join(SYSTEM, "user");
const test = suite("systemd units");

/** The unit's directives, `Key=value` lines only. */
function directives(path: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

function verify(dir: string, names: string[], user: boolean): { status: number | null; output: string } {
  const tmp = mkdtempSync(join(tmpdir(), "svcd-units-"));
  try {
    for (const name of names) {
      writeFileSync(join(tmp, name), readFileSync(join(dir, name), "utf8").replaceAll("/usr/local/bin/svcd", process.execPath));
    }
    const runtime = join(tmp, "run");
    mkdirSync(runtime, { mode: 0o700 });
    const args = [...(user ? ["--user"] : []), "verify", ...names.map((n) => join(tmp, n))];
    const r = spawnSync("systemd-analyze", args, { encoding: "utf8", env: { ...process.env, XDG_RUNTIME_DIR: runtime, SYSTEMD_LOG_LEVEL: "notice" } });
    // Only what concerns our units: systemd-analyze also reports unrelated units it loads on the way.
    const output = `${r.stdout}${r.stderr}`.split("\n").filter((l) => names.some((n) => l.includes(n))).join("\n");
    return { status: r.status, output };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

test("the system units pass systemd-analyze verify without a warning", () => {
  const r = verify(SYSTEM, ["svcd.socket", "svcd.service"], false);
  assert.is(r.status, 0, r.output);
  assert.is(r.output, "");
});

test("the user units pass systemd-analyze --user verify without a warning", () => {
  const r = verify(USER, ["svcd.socket", "svcd.service"], true);
  assert.is(r.status, 0, r.output);
  assert.is(r.output, "");
});

test("a broken unit is caught: an unknown directive and a missing binary", () => {
  const tmp = mkdtempSync(join(tmpdir(), "svcd-units-bad-"));
  try {
    writeFileSync(join(tmp, "svcd.service"), readFileSync(join(SYSTEM, "svcd.service"), "utf8").replace("Type=exec", "Type=exec\nDelegatee=yes"));
    copyFileSync(join(SYSTEM, "svcd.socket"), join(tmp, "svcd.socket"));
    const r = verify(tmp, ["svcd.socket", "svcd.service"], false);
    assert.match(r.output, /Delegatee/, "the unknown key is reported");
    writeFileSync(join(tmp, "svcd.service"), readFileSync(join(SYSTEM, "svcd.service"), "utf8").replace("/usr/local/bin/svcd", "/nonexistent/svcd"));
    const missing = spawnSync("systemd-analyze", ["verify", join(tmp, "svcd.socket"), join(tmp, "svcd.service")], { encoding: "utf8" });
    assert.is.not(missing.status, 0, "a missing ExecStart binary fails verify");
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test("the sockets' access is DESIGN.md §6's: root 0660 group svcd under a 0711 dir, a user's 0600", () => {
  const sys = directives(join(SYSTEM, "svcd.socket"));
  assert.equal(sys.get("ListenStream"), ["/run/svcd/svcd.sock"]);
  assert.equal(sys.get("SocketMode"), ["0660"]);
  assert.equal(sys.get("SocketGroup"), ["svcd"]);
  assert.equal(sys.get("DirectoryMode"), ["0711"]);
  const user = directives(join(USER, "svcd.socket"));
  assert.equal(user.get("ListenStream"), ["%t/svcd/svcd.sock"]);
  assert.equal(user.get("SocketMode"), ["0600"]);
});

test("the services are Type=exec behind their socket, Delegate=yes, KillMode=mixed; the user's runs --rootless", () => {
  for (const dir of [SYSTEM, USER]) {
    const svc = directives(join(dir, "svcd.service"));
    assert.equal(svc.get("Type"), ["exec"]);
    assert.equal(svc.get("Delegate"), ["yes"]);
    assert.equal(svc.get("KillMode"), ["mixed"]);
    assert.equal(svc.get("Requires"), ["svcd.socket"]);
  }
  assert.equal(directives(join(USER, "svcd.service")).get("ExecStart"), ["/usr/local/bin/svcd --rootless"]);
  assert.equal(directives(join(SYSTEM, "svcd.service")).get("ExecStart"), ["/usr/local/bin/svcd"]);
});

test("sysusers.d/svcd.conf creates the system group svcd (systemd-sysusers --dry-run on a root without it)", () => {
  const root = mkdtempSync(join(tmpdir(), "svcd-sysusers-"));
  try {
    mkdirSync(join(root, "etc"));
    copyFileSync("/etc/passwd", join(root, "etc", "passwd"));
    writeFileSync(join(root, "etc", "group"), readFileSync("/etc/group", "utf8").split("\n").filter((l) => !l.startsWith("svcd:")).join("\n"));
    const r = spawnSync("systemd-sysusers", ["--dry-run", `--root=${root}`, join(repo, "packaging", "sysusers.d", "svcd.conf")], { encoding: "utf8" });
    assert.is(r.status, 0, r.stderr);
    assert.match(`${r.stdout}${r.stderr}`, /Creating group '?svcd'?/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
