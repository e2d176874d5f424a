// containerd dies while a service runs and a client is bound to it (issue 8, item 5): the shims keep both running,
// the engine re-establishes its Waits once containerd answers again, the client gets its answer, and after close
// nothing is left. (a) svcd's managed containerd, brought back by its supervisor; (b) a containerd the test itself
// kills and starts again on the same root, state and socket (a system containerd restarted by systemd).
//
// As root each case uses a containerd of its own on temp paths (never the rig's), so the kill touches nothing else.
// In the rootless pass (a) kills the user engine's own containerd: its supervisor (rootlesskit's child, holding the
// namespaces) restarts it inside them; nothing else of the user's runs while this file does. (b) is root-only by
// nature: a user's engine always runs its own supervised containerd, never one someone else starts, so there it
// asserts that connect() refuses a `containerd` socket.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { watch } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ConnectOptions } from "../../../src/index.js";
import { connect } from "../../rig/connect.js";
import { InvalidArgumentError } from "../../../src/common/errors.js";
import { ContainerdClient } from "../../../src/containerd/index.js";
import { Paths } from "../../../src/common/paths.js";
import { HostProcessRunner } from "../../../src/common/process-runner.js";
import { clientProbe, managedPids, renderContainerdConfig, resolveContainerd, stopManagedContainerd } from "../../../src/rootless/index.js";
import { listLeases } from "../../../src/network/index.js";
import { enginePaths as rigPaths, rootless } from "../../rig/engine.js";

const NAMESPACE = "svcd-restart-test";
const runner = new HostProcessRunner();
const probe = clientProbe({ timeoutMs: 1000 });
const baseEnv: NodeJS.ProcessEnv = { ...process.env };
delete baseEnv.CONTAINERD_ADDRESS;
const enginePaths = rigPaths();

const created: Paths[] = [];
const children: ChildProcess[] = [];
function tempPaths(): Paths {
  const paths = new Paths({ state: mkdtempSync(join(tmpdir(), "svcd-rst-")), runtime: mkdtempSync("/run/svcd-rst-") });
  created.push(paths);
  return paths;
}

/** Resolves once `check` holds, polling (the conditions here have no event of their own); fails after `ms`. */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.unreachable(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves when `name` appears in `dir` (an fs event, not a poll). */
async function appears(dir: string, name: string): Promise<void> {
  const ac = new AbortController();
  const events = watch(dir, { signal: ac.signal });
  try {
    if (existsSync(join(dir, name))) return;
    for await (const _ of events) if (existsSync(join(dir, name))) return;
  } catch (err) {
    if (!ac.signal.aborted) throw err;
  } finally {
    ac.abort();
  }
}

/** Pids of shims started by the containerd on `address` (their argv carries its socket). */
function shimsOf(address: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (argv[0]?.includes("containerd-shim") && argv.includes(address)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/**
 * Everything svcd could leave in this containerd and on the host for this session: in any namespace of a test's own
 * containerd, in the test's namespace of the user engine's (shared with the other tests of the rootless pass).
 */
async function leftovers(address: string, containerIds: string[]): Promise<string[]> {
  const root = new ContainerdClient({ address, namespace: "default" });
  const out: string[] = [];
  try {
    const namespaces = rootless ? [{ name: NAMESPACE }] : (await root.namespaces.list({})).namespaces;
    for (const { name } of namespaces) {
      const c = root.withNamespace(name);
      for (const x of (await c.containers.list({})).containers) out.push(`${name}: container ${x.id}`);
      for (const x of (await c.tasks.list({})).tasks) out.push(`${name}: task ${x.id}`);
      for await (const page of c.snapshots.list({ snapshotter: "overlayfs" })) {
        for (const info of page.info) if (info.kind === "ACTIVE") out.push(`${name}: active snapshot ${info.name}`);
      }
      for (const x of (await c.leases.list({})).leases) out.push(`${name}: lease ${x.id}`);
    }
  } finally {
    root.close();
  }
  for (const pid of shimsOf(address)) out.push(`shim process ${pid}`);
  for (const id of containerIds) if (existsSync(enginePaths.containerNetns(id))) out.push(`netns ${id}`);
  const leases = await listLeases(`${enginePaths.ipamDir}/svcd`);
  for (const l of leases) if (containerIds.includes(l.containerId)) out.push(`IP lease ${l.containerId}`);
  return out;
}

/**
 * A python service and a busybox client bound to it; the client holds at a gate (a cache volume the test writes
 * into) while `restart` kills containerd and waits until it serves again; then the gate opens.
 */
async function serviceSurvives(address: string, restart: () => Promise<void>): Promise<void> {
  const session = `restart-${process.pid}-${Date.now().toString(36)}`;
  const volume = `gate-${session}`;
  const gate = join(enginePaths.cacheVolumesDir, volume, "data");
  // A user engine takes no socket: it is the one on `address` already.
  const options: ConnectOptions = { namespace: NAMESPACE, sessionId: session, serviceGracePeriodMs: 300 };
  const client = await connect(rootless ? options : { ...options, containerd: address });
  const seen = new Set<string>();
  try {
    const web = client.container().from("python").withWorkdir("/srv").withNewFile("index.html", `Hello from ${session}`)
      .withExposedPort(8080).asService({ args: ["python", "-m", "http.server", "8080"] });
    const script = "touch /gate/waiting; while [ ! -e /gate/go ]; do sleep 0.05; done; wget -qO- http://www:8080";
    const answer = client.container().from("busybox").withEnvVariable("BUST", session).withMountedCache("/gate", client.cacheVolume(volume))
      .withServiceBinding("www", web).withExec(["sh", "-c", script]).stdout();
    answer.catch(() => {});
    await until("the gate directory", () => existsSync(gate), 120_000);
    await appears(gate, "waiting");
    // Both the service and the client run now, each with a Wait open in the engine.
    const cd = new ContainerdClient({ address, namespace: NAMESPACE });
    try {
      for (const t of (await cd.tasks.list({})).tasks) seen.add(t.id);
    } finally {
      cd.close();
    }
    assert.ok(seen.size >= 2, `service and client tasks run: ${[...seen].join(", ")}`);

    // An event subscription made before the restart sees the client's exit, published after it.
    const events = new ContainerdClient({ address, namespace: "default" });
    const stopEvents = new AbortController();
    const probeNs = `svcd-restart-probe-${process.pid}`;
    let established!: () => void;
    const isEstablished = new Promise<void>((r) => (established = r));
    const exits: string[] = [];
    const watching = (async () => {
      for await (const e of events.subscribe(['topic=="/namespaces/create"', 'topic=="/tasks/exit"'], { signal: stopEvents.signal })) {
        if (e.topic === "/namespaces/create" && e.event.name === probeNs) established();
        if (e.topic === "/tasks/exit") exits.push(String(e.event.container_id));
        if (exits.some((id) => seen.has(id))) return;
      }
    })();
    watching.catch(() => {});
    try {
      await events.namespaces.create({ namespace: { name: probeNs, labels: {} } });
      await isEstablished;
      await events.namespaces.delete({ name: probeNs });

      await restart();

      writeFileSync(join(gate, "go"), "");
      assert.is(await answer, `Hello from ${session}`);
      await watching; // rejects if the subscription died with the old containerd
      assert.ok(exits.some((id) => seen.has(id)), `exit events after the restart: ${exits.join(", ")}`);
    } finally {
      stopEvents.abort();
      events.close();
    }
  } finally {
    await client.close();
  }
  await until("the service's teardown", async () => (await leftovers(address, [...seen])).length === 0, 20_000).catch(() => {});
  assert.equal(await leftovers(address, [...seen]), []);
  rmSync(join(enginePaths.cacheVolumesDir, volume), { recursive: true, force: true });
}

// Only a failure leaves more than the temp dirs: then containers still run under shims that outlived containerd.
test.after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const paths of created) {
    await stopManagedContainerd(paths, { runner }).catch(() => {});
    const runcRoot = `/run/containerd/runc/${NAMESPACE}`; // the shim's runc root, shared by every containerd
    const listed = spawnSync("runc", ["--root", runcRoot, "list", "--format", "json"], { encoding: "utf8" }).stdout || "[]";
    for (const c of (JSON.parse(listed) ?? []) as { id: string; bundle: string }[]) {
      if (c.bundle.startsWith(paths.runtime + "/")) spawnSync("runc", ["--root", runcRoot, "delete", "--force", c.id], { stdio: "ignore" });
    }
    for (const pid of shimsOf(paths.containerdSocket)) process.kill(pid, "SIGKILL");
    const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4] ?? "")
      .filter((m) => m.startsWith(paths.runtime + "/") || m.startsWith(paths.state + "/")).sort((a, b) => b.length - a.length);
    for (const m of mounts) spawnSync("umount", ["-l", m], { stdio: "ignore" });
    rmSync(paths.runtime, { recursive: true, force: true });
    rmSync(paths.state, { recursive: true, force: true });
  }
});

/** Rootless: the user engine's containerd (connect() starts it if this is the pass's first engine). */
async function userEngine(): Promise<{ paths: Paths; address: string }> {
  await (await connect({ namespace: NAMESPACE })).close();
  return { paths: enginePaths, address: enginePaths.containerdSocket };
}

test("(a) managed containerd SIGKILLed: its supervisor restarts it, the bound client still gets its answer", async () => {
  let paths: Paths;
  let address: string;
  if (rootless) {
    ({ paths, address } = await userEngine());
  } else {
    paths = tempPaths();
    const managed = await resolveContainerd({ paths, runner, env: baseEnv, systemAddress: null });
    assert.ok(managed.managed && managed.started);
    address = managed.address;
  }
  const logBefore = existsSync(paths.containerdLog) ? readFileSync(paths.containerdLog, "utf8").length : 0;
  await serviceSurvives(address, async () => {
    const before = managedPids(paths);
    assert.type(before.containerd, "number");
    process.kill(before.containerd!, "SIGKILL");
    await until("the supervisor's restart", async () => {
      const now = managedPids(paths);
      return now.containerd !== undefined && now.containerd !== before.containerd && (await probe(address));
    });
    assert.is(managedPids(paths).supervisor, before.supervisor, "the same supervisor");
  });
  // The user engine's log holds earlier runs too: only what this kill added counts.
  assert.match(readFileSync(paths.containerdLog, "utf8").slice(logBefore), /containerd was killed by SIGKILL; restarting in \d+ ms/);
});

test("(b) an unsupervised containerd killed and started again by someone else: the engine reconnects (as root; a user's engine refuses such a containerd)", async () => {
  if (rootless) {
    // Root-only by nature: a user's engine only ever talks to its own supervised containerd inside its namespaces.
    const err = await connect({ containerd: enginePaths.containerdSocket, namespace: NAMESPACE }).then(async (c) => {
      await c.close();
      return undefined;
    }, (e: unknown) => e);
    assert.instance(err, InvalidArgumentError);
    assert.match((err as Error).message, /leave it unset/);
    return;
  }
  const paths = tempPaths();
  mkdirSync(paths.runtime, { recursive: true });
  writeFileSync(paths.containerdConfig, renderContainerdConfig(paths));
  const start = async (): Promise<ChildProcess> => {
    const child = spawn("containerd", ["--config", paths.containerdConfig], { stdio: "ignore", env: baseEnv });
    children.push(child);
    await until("containerd to serve", () => probe(paths.containerdSocket));
    return child;
  };
  let daemon = await start();
  await serviceSurvives(paths.containerdSocket, async () => {
    daemon.kill("SIGKILL");
    await once(daemon, "exit");
    daemon = await start();
  });
  daemon.kill("SIGTERM");
  await once(daemon, "exit");
});

test.run();
