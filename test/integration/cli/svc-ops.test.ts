// svc ps, stop, doctor and prune as a user runs them (a child process, the real engine; the daemon in the daemon
// pass): a service exposed by `svc call … up` in another process is listed with its up forward and stopped by a
// prefix of its name; doctor names a missing piece and its fix; prune reports what it removed.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { rootless } from "../../rig/engine.js";
import { freePort } from "../../rig/registry.js";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const svcEntry = join(repo, "src/cli/svc.ts");
const tsx = import.meta.resolve("tsx");

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return spawn(process.execPath, ["--import", tsx, svcEntry, ...args], { cwd: repo, env, stdio: ["ignore", "pipe", "pipe"] });
}

async function svc(args: string[], env?: NodeJS.ProcessEnv): Promise<Ran> {
  const child = start(args, env);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (b: Buffer) => (stdout += b));
  child.stderr!.on("data", (b: Buffer) => (stderr += b));
  const [status] = (await once(child, "close")) as [number | null];
  return { status, stdout, stderr };
}

interface Listed {
  name: string;
  hostname: string;
  state: string;
  image: string;
  ports: string[];
  up: string[];
}

const test = suite("svc operations");

test("ps lists a service another process exposes, with its up forward; stop by a name prefix ends it for its client", async () => {
  const port = await freePort();
  const up = start(["-q", "call", "-m", "examples/hello.ts", "http-service", "up", "--ports", `${port}:8080`]);
  let stderr = "";
  up.stderr!.on("data", (b: Buffer) => (stderr += b));
  const upExited = once(up, "close");
  await new Promise<void>((resolve, reject) => {
    up.stdout!.once("data", () => resolve());
    up.once("close", () => reject(new Error(`svc call … up exited early: ${stderr}`)));
  });
  try {
    const listed = await svc(["ps", "-j"]);
    assert.is(listed.status, 0, listed.stderr);
    const services = JSON.parse(listed.stdout) as Listed[];
    const mine = services.find((s) => s.up.includes(`127.0.0.1:${port}->8080/tcp`));
    assert.ok(mine, `the up forward is listed: ${listed.stdout}`);
    assert.is(mine!.state, "running");
    assert.equal(mine!.ports, ["8080/tcp"]);
    assert.is(mine!.image, "docker.io/library/python:latest");
    assert.match(mine!.name, new RegExp(`^${mine!.hostname}@`));
    const table = await svc(["ps"]);
    assert.match(table.stdout, /^HOSTNAME\s+SESSION\s+STATE\s+PORTS\s+UP\s+IMAGE\s+UPTIME$/m);
    assert.match(table.stdout, new RegExp(`^${mine!.hostname}\\s+\\S+\\s+running\\s+8080/tcp\\s+127\\.0\\.0\\.1:${port}->8080/tcp\\s+`, "m"));

    const stopped = await svc(["stop", mine!.hostname.slice(0, 6)]);
    assert.is(stopped.status, 0, stopped.stderr);
    assert.is(stopped.stdout, `stopped ${mine!.name}\n`);
    const after = JSON.parse((await svc(["ps", "-j"])).stdout) as Listed[];
    assert.not.ok(after.some((s) => s.hostname === mine!.hostname && s.state === "running"), "no longer running");
    const [status] = (await upExited) as [number | null];
    assert.is(status, 1, "the exposing process ends once its service is gone, and says so");
    assert.match(stderr, new RegExp(`the service ${mine!.hostname} stopped; up ends`));
  } finally {
    up.kill("SIGINT");
  }
});

test("logs: --tail, -f streams a line the service prints later and ends when it stops, the last run after it stopped", async () => {
  const dir = mkdtempSync(join(tmpdir(), "svc-logs-"));
  writeFileSync(join(dir, "talker.ts"), `
import { dag, type Service } from "svcd";
export function talker(): Service {
  return dag.container().from("busybox").withExposedPort(8080)
    .asService({ args: ["sh", "-c", "echo line-1; echo err-1 >&2; echo line-2; exec httpd -f -vv -p 8080"] });
}
`);
  const port = await freePort();
  const up = spawn(process.execPath, ["--import", tsx, svcEntry, "-q", "call", "-m", join(dir, "talker.ts"), "talker", "up", "--ports", `${port}:8080`], { cwd: dir, env: process.env, stdio: ["ignore", "pipe", "pipe"] });
  const upExited = once(up, "close");
  try {
    await new Promise<void>((resolve, reject) => {
      up.stdout!.once("data", () => resolve());
      up.once("close", () => reject(new Error("svc call … up exited early")));
    });
    const mine = (JSON.parse((await svc(["ps", "-j"])).stdout) as Listed[]).find((s) => s.up.includes(`127.0.0.1:${port}->8080/tcp`));
    assert.ok(mine);
    const all = await svc(["logs", mine!.name]);
    assert.is(all.status, 0, all.stderr);
    assert.equal(all.stdout.split("\n").slice(0, 3).sort(), ["err-1", "line-1", "line-2"], "stdout and stderr, merged");
    // By hostname@session: earlier runs of the same definition (other sessions) keep their last run's log too.
    const session = mine!.name.slice(mine!.hostname.length + 1);
    const tail = await svc(["logs", "--tail", "1", mine!.name]);
    assert.is(tail.stdout.split("\n").filter(Boolean).length, 1, tail.stdout);

    const follower = start(["logs", "-f", `${mine!.hostname.slice(0, 8)}@${session.slice(0, 6)}`]);
    let followed = "";
    const followerExited = once(follower, "close");
    await new Promise<void>((resolve) => follower.stdout!.on("data", (b: Buffer) => ((followed += b), followed.includes("line-2") && resolve())));
    const before = followed;
    await fetch(`http://127.0.0.1:${port}/svc-logs-probe`).then((r) => r.text());
    await new Promise<void>((resolve) => {
      const check = () => (followed.length > before.length && followed.includes("svc-logs-probe") ? resolve() : undefined);
      follower.stdout!.on("data", check);
      check();
    });
    assert.is((await svc(["stop", mine!.name])).status, 0);
    const [status] = (await followerExited) as [number | null];
    assert.is(status, 0, "the follower ends when the service stops");
    const last = await svc(["logs", mine!.name]);
    assert.is(last.status, 0, last.stderr);
    assert.match(last.stdout, /line-1/, "the last run of a stopped service");
    assert.is((await svc(["logs", "--tail", "x", mine!.name])).status, 2);
  } finally {
    up.kill("SIGINT");
    await upExited;
    rmSync(dir, { recursive: true, force: true });
  }
});

test("stop: an unknown name fails (exit 1) and says where to look; a bad name is a usage error", async () => {
  const none = await svc(["stop", "no-such-service-zz"]);
  assert.is(none.status, 1);
  assert.match(none.stderr, /no service "no-such-service-zz" \(svc ps lists them\)/);
  const bad = await svc(["stop", "@session-only"]);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /invalid service name/);
});

test("doctor: ok on this machine; a machine without runc, containerd or nft names each with its apt-get fix", async () => {
  const ok = await svc(["doctor", "-j"]);
  const failed = (JSON.parse(ok.stdout) as { name: string; ok: boolean }[]).filter((c) => !c.ok).map((c) => c.name);
  // The rig's test user may not open /dev/net/tun (CI machines keep it 0600): only egress is off then, and said.
  assert.equal(failed, rootless && failed.length > 0 ? ["/dev/net/tun"] : [], ok.stdout);
  assert.is(ok.status, failed.length > 0 ? 1 : 0);
  const bare = mkdtempSync(join(tmpdir(), "svc-doctor-"));
  try {
    symlinkSync(process.execPath, join(bare, "node"));
    const missing = await svc(["doctor", "-j"], { ...process.env, PATH: bare });
    assert.is(missing.status, 1);
    const checks = JSON.parse(missing.stdout) as { name: string; ok: boolean; fix?: string }[];
    for (const [name, pkg] of [["runc", "runc"], ["containerd", "containerd"], ["nftables", "nftables"]]) {
      const c = checks.find((x) => x.name === name);
      assert.is(c?.ok, false, name);
      assert.is(c?.fix, `apt-get install ${pkg}`);
    }
  } finally {
    rmSync(bare, { recursive: true, force: true });
  }
});

test("prune reports what it removed; a size it cannot read is a usage error", async () => {
  const r = await svc(["prune", "--keep-storage", "1TB", "-j"]);
  assert.is(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout) as { removed: number; freedBytes: number };
  assert.type(result.removed, "number");
  assert.type(result.freedBytes, "number");
  const bad = await svc(["prune", "--keep-storage", "lots"]);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /--keep-storage "lots": use a size such as 10GB/);
});

test.run();
