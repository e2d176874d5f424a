// The engine's choice of containerd against the real one: an existing socket is used as-is; otherwise svcd starts
// exactly one managed containerd (per Paths), reuses it, recovers stale files and stops it. Each test gets its own
// temp Paths (runtime under /run, short enough for the socket limit) and stops whatever it started.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { once } from "node:events";
import { createServer } from "node:net";
import { Paths } from "../../../src/common/paths.js";
import { SvcdError } from "../../../src/common/errors.js";
import { processStartTime } from "../../../src/common/owner.js";
import {
  HostProcessRunner,
  type ProcessRunner,
  type RunOptions,
  type SpawnHelperOptions,
} from "../../../src/common/process-runner.js";
import {
  answers,
  clientProbe,
  ensureManagedContainerd,
  rotatedLogPath,
  ctrProbe,
  managedPids,
  resolveContainerd,
  stopManagedContainerd,
  SUPERVISOR_PROGRAM,
  type ContainerdEndpointOptions,
} from "../../../src/rootless/index.js";
import { readPidFile, recordRunning } from "../../../src/rootless/pid-file.js";

const readStart = (pid: number) => processStartTime(pid);

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "../../..");
const existing = process.env.CONTAINERD_ADDRESS || "/run/containerd/containerd.sock";
const runner = new HostProcessRunner();
const baseEnv: NodeJS.ProcessEnv = { ...process.env };
delete baseEnv.CONTAINERD_ADDRESS;
// The suite uses the default probe (a Version call through ContainerdClient); `probe` is for its own checks.
const probe = clientProbe();

/** A runner that records every program it starts. */
class RecordingRunner implements ProcessRunner {
  readonly kind = "recording";
  readonly started: string[] = [];
  constructor(private readonly inner: ProcessRunner) {}
  spawn(file: string, args: readonly string[], options?: SpawnHelperOptions) {
    this.started.push(file);
    return this.inner.spawn(file, args, options);
  }
  run(file: string, args: readonly string[], options?: RunOptions) {
    this.started.push(file);
    return this.inner.run(file, args, options);
  }
}

// Every Paths a test creates, so that the suite stops and removes them whatever fails.
const created: Paths[] = [];
function tempPaths(): Paths {
  const paths = new Paths({ state: mkdtempSync(join(tmpdir(), "svcd-state-")), runtime: mkdtempSync("/run/svcd-test-") });
  created.push(paths);
  return paths;
}

function options(paths: Paths, extra: Partial<ContainerdEndpointOptions> = {}): ContainerdEndpointOptions {
  return { paths, runner, env: baseEnv, systemAddress: null, ...extra };
}

/** Pids of running containerd processes started with this Paths' config. */
function daemonsFor(paths: Paths): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      const state = readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]?.[0];
      if (state !== "Z" && argv.includes("--config") && argv.includes(paths.containerdConfig)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** The supervisor pid of each containerd running this Paths' config (its parent), checked to be the supervisor. */
function supervisedDaemons(paths: Paths): number[] {
  return daemonsFor(paths).map((pid) => {
    const ppid = Number(/^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
    assert.is(readFileSync(`/proc/${ppid}/comm`, "utf8").trim(), SUPERVISOR_PROGRAM, `containerd ${pid} runs under the supervisor`);
    assert.is(readPidFile(paths.containerdDaemonPidFile)?.pid, pid, "Paths.containerdDaemonPidFile names it");
    assert.is(managedPids(paths).containerd, pid, "managedPids reads it");
    return ppid;
  });
}

async function expectError(promise: Promise<unknown>, code: string, message: RegExp): Promise<SvcdError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(SvcdError.is(err), `expected an SvcdError, got ${String(err)}`);
    assert.is(err.code, code, err.message);
    assert.match(err.message, message, err.message);
    return err;
  }
  assert.unreachable(`expected ${code}`);
  throw new Error("unreachable");
}

/** A bin dir holding links to the real helpers named in `links`, plus optional fake scripts. */
function binDir(links: string[], scripts: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "svcd-bin-"));
  for (const name of links) {
    const real = ["/usr/bin", "/usr/sbin", "/bin", "/sbin"].map((d) => join(d, name)).find((p) => existsSync(p));
    assert.ok(real, `${name} must be installed`);
    symlinkSync(real!, join(dir, name));
  }
  for (const [name, body] of Object.entries(scripts)) writeFileSync(join(dir, name), body, { mode: 0o755 });
  return dir;
}

test.after(async () => {
  for (const paths of created) {
    await stopManagedContainerd(paths, { runner });
    // Only a bug leaves more (the pidfile names one): kill whatever still runs our temp config, then remove.
    for (const pid of daemonsFor(paths)) process.kill(pid, "SIGKILL");
    rmSync(paths.runtime, { recursive: true, force: true });
    rmSync(paths.state, { recursive: true, force: true });
  }
});

test("(a) an explicit address of a running containerd is used and nothing is started", async () => {
  const paths = tempPaths();
  const recording = new RecordingRunner(runner);
  const got = await resolveContainerd(options(paths, { address: existing, runner: recording }));
  assert.equal(got, { address: existing, managed: false, source: "explicit", started: false });
  assert.equal(recording.started, [], "the default probe needs no helper; nothing else may run");
  assert.not.ok(existsSync(paths.containerdPidFile));
  assert.not.ok(existsSync(paths.containerdConfig));
  assert.equal(daemonsFor(paths), []);

  const viaEnv = await resolveContainerd(options(paths, { env: { ...baseEnv, CONTAINERD_ADDRESS: existing } }));
  assert.equal(viaEnv, { address: existing, managed: false, source: "env", started: false });
  const viaSystem = await resolveContainerd(options(paths, { systemAddress: existing }));
  assert.equal(viaSystem, { address: existing, managed: false, source: "system", started: false });
});

test("(a) an explicit address nobody answers on is an error naming it; no fallback", async () => {
  const paths = tempPaths();
  const missing = join(paths.runtime, "nobody.sock");
  await expectError(resolveContainerd(options(paths, { address: missing })), "UNAVAILABLE", new RegExp(missing));
  await expectError(
    resolveContainerd(options(paths, { env: { ...baseEnv, CONTAINERD_ADDRESS: missing } })),
    "UNAVAILABLE",
    /CONTAINERD_ADDRESS/,
  );
  assert.equal(daemonsFor(paths), []);
});

test("(b) nothing answering: a managed containerd is started, detached, and reused by the next call", async () => {
  const paths = tempPaths();
  const first = await resolveContainerd(options(paths));
  assert.is(first.address, paths.containerdSocket);
  assert.ok(first.managed && first.started && first.source === "managed");
  assert.type(first.pid, "number");
  assert.equal(supervisedDaemons(paths), [first.pid]);
  assert.is(readPidFile(paths.containerdPidFile)?.pid, first.pid);
  // Its own session (setsid), so it is not killed with our process group.
  const stat = readFileSync(`/proc/${first.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  assert.is(Number(stat[3]), first.pid, "session id is its own pid");
  assert.ok(await probe(paths.containerdSocket));
  assert.match(readFileSync(paths.containerdConfig, "utf8"), /disabled_plugins = \["io.containerd.grpc.v1.cri"\]/);

  const second = await resolveContainerd(options(paths));
  assert.equal(second, { address: paths.containerdSocket, managed: true, source: "managed", started: false, pid: first.pid });
  assert.equal(supervisedDaemons(paths), [first.pid]);
});

test("an injected probe (ctr version through the runner) decides too", async () => {
  const paths = tempPaths();
  const ctr = ctrProbe(runner, { env: baseEnv, timeoutMs: 1000 });
  let calls = 0;
  const counting = async (address: string, signal?: AbortSignal) => (calls++, ctr(address, signal));
  const first = await resolveContainerd(options(paths, { probe: counting }));
  assert.ok(first.started);
  assert.ok(await ctr(first.address));
  const second = await resolveContainerd(options(paths, { probe: counting }));
  assert.equal([second.started, second.pid], [false, first.pid]);
  assert.ok(calls >= 2);
});

test("(c) two concurrent calls in one process start exactly one daemon", async () => {
  const paths = tempPaths();
  const [x, y] = await Promise.all([resolveContainerd(options(paths)), resolveContainerd(options(paths))]);
  assert.is(x.pid, y.pid);
  assert.equal([x.started, y.started].sort(), [false, true]);
  assert.equal(supervisedDaemons(paths), [x.pid]);
});

test("(c) concurrent processes, released at the same moment, start exactly one daemon, which outlives them", async () => {
  const paths = tempPaths();
  const env = { ...process.env, SVCD_STATE_DIR: paths.state, SVCD_RUNTIME_DIR: paths.runtime };
  const children = Array.from({ length: 4 }, () => {
    const proc = spawn(process.execPath, ["--import", "tsx", join(here, "fixtures/resolve-child.ts")], {
      cwd: repo,
      env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    let onReady: () => void;
    const ready = new Promise<void>((resolve) => (onReady = resolve));
    proc.stdout!.on("data", (b: Buffer) => {
      out += b;
      if (out.startsWith("ready\n")) onReady();
    });
    proc.stderr!.on("data", (b: Buffer) => (err += b));
    const done = once(proc, "close").then(([code]) => {
      assert.is(code, 0, err);
      return JSON.parse(out.slice("ready\n".length)) as { pid: number; started: boolean };
    });
    return { proc, ready, done };
  });
  await Promise.all(children.map((c) => c.ready));
  for (const c of children) c.proc.stdin!.end("go\n");
  const results = await Promise.all(children.map((c) => c.done));
  assert.equal(new Set(results.map((r) => r.pid)).size, 1, JSON.stringify(results));
  assert.is(results.filter((r) => r.started).length, 1, JSON.stringify(results));
  assert.equal(supervisedDaemons(paths), [results[0]!.pid]);
  assert.ok(await answers(paths.containerdSocket, probe), "still serving after every process exited");
});

test("(d) a stale pidfile (a live non-containerd pid) and a stale socket file are recovered", async () => {
  const paths = tempPaths();
  mkdirSync(paths.runtime, { recursive: true });
  // A socket file nobody listens on: its listener was SIGKILLed, so it never unlinked it.
  const listener = spawn(
    process.execPath,
    ["-e", `require("net").createServer().listen(${JSON.stringify(paths.containerdSocket)}, () => process.kill(process.pid, "SIGKILL"))`],
    { stdio: "ignore" },
  );
  await once(listener, "close");
  assert.ok(existsSync(paths.containerdSocket), "stale socket file in place");
  // The pidfile names a live process that is not containerd: it must be neither used nor signalled.
  const bystander = spawn("sleep", ["60"], { stdio: "ignore" });
  try {
    writeFileSync(paths.containerdPidFile, `${bystander.pid} ${processStartTime(bystander.pid!)}\n`);
    const got = await resolveContainerd(options(paths));
    assert.ok(got.started);
    assert.is.not(got.pid, bystander.pid);
    assert.equal(supervisedDaemons(paths), [got.pid]);
    assert.is(bystander.exitCode, null, "the bystander was not signalled");
    assert.is(processStartTime(bystander.pid!) !== undefined, true);
  } finally {
    bystander.kill("SIGKILL");
  }
});

test("(d) a pidfile naming a dead process is recovered", async () => {
  const paths = tempPaths();
  const gone = spawn("true", { stdio: "ignore" });
  await once(gone, "close");
  mkdirSync(paths.runtime, { recursive: true });
  writeFileSync(paths.containerdPidFile, `${gone.pid} 12345\n`);
  writeFileSync(paths.containerdSocket, ""); // not even a socket
  const got = await resolveContainerd(options(paths));
  assert.ok(got.started);
  assert.is(readPidFile(paths.containerdPidFile)?.pid, got.pid);
});

test("(e) no containerd in PATH: EngineUnavailableError with the apt hint, nothing started", async () => {
  const paths = tempPaths();
  await expectError(
    resolveContainerd(options(paths, { env: { ...baseEnv, PATH: join(paths.runtime, "no-bin") } })),
    "UNAVAILABLE",
    /containerd is not installed.*apt-get install containerd runc/,
  );
  const noRunc = binDir(["containerd", "containerd-shim-runc-v2", "flock"]);
  try {
    await expectError(
      resolveContainerd(options(paths, { env: { ...baseEnv, PATH: noRunc } })),
      "UNAVAILABLE",
      /runc is not installed.*apt-get install containerd runc/,
    );
  } finally {
    rmSync(noRunc, { recursive: true, force: true });
  }
  assert.not.ok(existsSync(paths.containerdPidFile));
  assert.equal(daemonsFor(paths), []);
});

test("a daemon that exits before serving fails early with its log tail", async () => {
  const paths = tempPaths();
  const fake = binDir(["containerd-shim-runc-v2", "runc", "flock"], {
    containerd: '#!/bin/sh\n[ "$1" = --version ] && { echo fake; exit 0; }\necho "boom: cannot load plugins" >&2\nexit 3\n',
  });
  try {
    const started = Date.now();
    await expectError(
      resolveContainerd(options(paths, { env: { ...baseEnv, PATH: fake }, startTimeoutMs: 8000 })),
      "UNAVAILABLE",
      /exited with code 3 before serving[\s\S]*boom: cannot load plugins/,
    );
    assert.ok(Date.now() - started < 4000, "did not wait for the start timeout");
  } finally {
    rmSync(fake, { recursive: true, force: true });
  }
});

test("a daemon that never serves is stopped after the start timeout", async () => {
  const paths = tempPaths();
  const fake = binDir(["containerd-shim-runc-v2", "runc", "flock"], {
    containerd: '#!/bin/sh\n[ "$1" = --version ] && { echo fake; exit 0; }\necho "hanging" >&2\nwhile :; do /bin/sleep 1; done\n',
  });
  try {
    const err = await expectError(
      resolveContainerd(options(paths, { env: { ...baseEnv, PATH: fake }, startTimeoutMs: 4000 })),
      "UNAVAILABLE",
      /did not answer within 4000 ms[\s\S]*hanging/,
    );
    assert.ok(err);
    assert.equal(daemonsFor(paths), [], "the hung daemon was stopped");
    assert.not.ok(existsSync(paths.containerdPidFile));
  } finally {
    rmSync(fake, { recursive: true, force: true });
  }
});

test("aborting while waiting is a CancelledError", async () => {
  const paths = tempPaths();
  const ac = new AbortController();
  ac.abort();
  await expectError(resolveContainerd(options(paths, { signal: ac.signal })), "CANCELLED", /cancel/);
  assert.equal(daemonsFor(paths), []);
});

test("a runtime dir too long for a unix socket is an InvalidArgumentError", async () => {
  const paths = new Paths({ state: tmpdir(), runtime: "/run/" + "x".repeat(100) });
  await expectError(resolveContainerd(options(paths)), "INVALID_ARGUMENT", /108 bytes/);
  assert.not.ok(existsSync(paths.runtime));
});

test("(f) stop terminates the daemon and removes its socket and pidfile", async () => {
  const paths = tempPaths();
  const got = await resolveContainerd(options(paths));
  assert.ok(await stopManagedContainerd(paths, { runner }));
  assert.equal(daemonsFor(paths), []);
  // Gone, or a zombie until this process (its parent, since we started it) reaps it.
  assert.not.ok(recordRunning({ pid: got.pid!, startTime: readStart(got.pid!) ?? "gone" }), "process exited");
  assert.not.ok(existsSync(paths.containerdSocket));
  assert.not.ok(existsSync(paths.containerdPidFile));
  assert.not.ok(existsSync(paths.containerdDaemonPidFile));
  assert.not.ok(await answers(paths.containerdSocket, probe));
  assert.not.ok(await stopManagedContainerd(paths, { runner }), "nothing left to stop");
  // And the next call starts a fresh one.
  const again = await resolveContainerd(options(paths));
  assert.ok(again.started);
  assert.is.not(again.pid, got.pid);
});

test("the supervisor brings a SIGKILLed containerd back on the same socket; its log stays capped", async () => {
  const paths = tempPaths();
  const got = await ensureManagedContainerd({ paths, runner, probe, env: baseEnv, logMaxBytes: 65536 });
  const first = managedPids(paths);
  assert.is(first.supervisor, got.pid);
  assert.type(first.containerd, "number");
  process.kill(first.containerd!, "SIGKILL");
  // The restart has no event of its own outside the supervisor: poll for the new pid and a Version answer.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const now = managedPids(paths);
    if (now.containerd !== undefined && now.containerd !== first.containerd && (await answers(paths.containerdSocket, probe))) break;
    assert.ok(Date.now() < deadline, "containerd was not restarted within 30 s");
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.is(managedPids(paths).supervisor, first.supervisor, "the same supervisor");
  assert.equal(supervisedDaemons(paths), [first.supervisor]);
  const rotated = rotatedLogPath(paths.containerdLog);
  const log = readFileSync(paths.containerdLog, "utf8") + (existsSync(rotated) ? readFileSync(rotated, "utf8") : "");
  assert.match(log, /containerd was killed by SIGKILL; restarting in \d+ ms/);
  assert.ok(statSync(paths.containerdLog).size <= 65536, "live log capped");
  if (existsSync(rotated)) assert.ok(statSync(rotated).size <= 65536, "one rotated file, capped");
  assert.not.ok(existsSync(`${paths.containerdLog}.2`));
});

test("a stale unix socket file is not mistaken for a serving one", async () => {
  // Sanity check of the probe the suite relies on: a socket that accepts but is not containerd does not answer.
  const paths = tempPaths();
  const server = createServer((s) => s.destroy());
  const sock = join(paths.runtime, "fake.sock");
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  try {
    assert.not.ok(await probe(sock));
    await expectError(resolveContainerd(options(paths, { address: sock })), "UNAVAILABLE", /fake\.sock/);
  } finally {
    server.close();
  }
});

test.run();
