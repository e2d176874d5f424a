// Everything svcd makes, looked for after a test file (scripts/run-tests.mjs) and at the end (zz-no-leaks): containerd
// objects, processes, mounts, network state, hosts files, FIFO dirs, reserved addresses, the hub's nftables elements
// and chains, service logs past retention (and `.run` indexes without their log), PRIVATE cache-volume copies. Scoped
// to ONE run: its containerd socket and its state/runtime dirs (SVCD_STATE_DIR / SVCD_RUNTIME_DIR) — other runs on
// the machine are never looked at, and processes are matched by this run's paths and network namespaces, never by
// name alone.
// In the rootless pass (not root) the run's engine is the user's: its Paths are the user's, and mounts, netns
// identities and the hub's nftables are read inside its namespaces (the supervisor's mount table, the runner).
// Each finding is one line `<kind>: <what>`, stable between checks so that a runner can report only new ones.
import { readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { ContainerdClient } from "../../src/containerd/index.js";
import type { Paths } from "../../src/common/paths.js";
import { HostProcessRunner, type ProcessRunner } from "../../src/common/process-runner.js";
import { managedPids, NamespaceRunner } from "../../src/rootless/index.js";
import { enginePaths, rootless } from "./engine.js";
import { listLeases } from "../../src/network/index.js";
import { reservedDir } from "../../src/network/hub/reserved-addresses.js";
import { PRIVATE_COPY_PREFIX } from "../../src/engine/cache-volumes.js";
import { SERVICE_LOG_FILE, serviceLogMaxBytes, serviceLogRetentionMs } from "../../src/engine/services/service-logs.js";
import { SERVICE_RUN_FILE } from "../../src/engine/services/service-log-index.js";

export interface LeakCheckOptions {
  /** This run's containerd socket (CONTAINERD_ADDRESS). */
  address: string;
  /** This run's dirs; the engine's (enginePaths(env): the user's own in the rootless pass) by default. */
  paths?: Paths;
  env?: NodeJS.ProcessEnv;
  runner?: ProcessRunner;
  /** Reuse one client across checks (the runner checks ~40 times); one is made and closed per check otherwise. */
  client?: ContainerdClient;
}

/** What is left behind, one line per object; empty when nothing leaked. */
export async function checkLeaks(opts: LeakCheckOptions): Promise<string[]> {
  const env = opts.env ?? process.env;
  const paths = opts.paths ?? enginePaths(env);
  const view = await engineView(paths, opts.runner, env);
  const client = opts.client ?? new ContainerdClient({ address: opts.address, namespace: "default" });
  try {
    const parts = await Promise.all([
      containerdLeaks(client),
      Promise.resolve(processLeaks(paths, opts.address, view)),
      Promise.resolve(mountLeaks(paths, view)),
      fileLeaks(paths, env),
      view.runner ? nftLeaks(paths, view, env) : Promise.resolve([]),
    ]);
    return parts.flat();
  } finally {
    if (!opts.client) client.close();
  }
}

/**
 * Each `task: <ns>/<id>` finding with the task's state and what still runs in it (pid and command line of each
 * process) appended, so a file that hung says where it stopped: which exec never exited, or only the init is
 * left. Kept out of the findings themselves, which stay stable between checks.
 */
export async function describeTaskLeaks(root: ContainerdClient, leaks: readonly string[]): Promise<string[]> {
  return Promise.all(
    leaks.map(async (leak) => {
      const m = /^task: ([^/]+)\/(.+)$/.exec(leak);
      if (!m) return leak;
      const client = root.withNamespace(m[1]!);
      try {
        const [{ process: t }, { processes }] = await Promise.all([client.tasks.get({ container_id: m[2]! }), client.tasks.listPids({ container_id: m[2]! })]);
        const procs = processes.map((p) => `${p.pid} ${readSafe(`/proc/${p.pid}/cmdline`).split("\0").filter(Boolean).join(" ") || "?"}`);
        const state = String(t?.status) === "STOPPED" ? `STOPPED, exit ${t?.exit_status}` : String(t?.status);
        return `${leak} (${state}; processes: ${procs.join(", ") || "none"})`;
      } catch (err) {
        return `${leak} (not described: ${(err as Error).message})`;
      }
    }),
  );
}

/** Containers, tasks, active snapshots and leases in any namespace of this run's containerd. */
async function containerdLeaks(root: ContainerdClient): Promise<string[]> {
  const { namespaces } = await root.namespaces.list({});
  const per = await Promise.all(
    namespaces.map(async ({ name }) => {
      const client = root.withNamespace(name);
      const leaks: string[] = [];
      const [{ containers }, { tasks }, { leases }] = await Promise.all([
        client.containers.list({}),
        client.tasks.list({}),
        client.leases.list({}),
      ]);
      for (const c of containers) leaks.push(`container: ${name}/${c.id}`);
      for (const t of tasks) leaks.push(`task: ${name}/${t.id}`);
      for (const l of leases) leaks.push(`lease: ${name}/${l.id}`);
      for await (const page of client.snapshots.list({ snapshotter: "overlayfs" })) {
        for (const info of page.info) if (info.kind === "ACTIVE") leaks.push(`active snapshot: ${name}/${info.name}`);
      }
      return leaks;
    }),
  );
  return per.flat();
}

function readSafe(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function nsInode(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}

/** How the check sees the engine: as root, from here; rootless, from inside the user engine's namespaces. */
interface EngineView {
  /** Runs helpers where the engine does; undefined when a user engine is not running (nothing inside to see). */
  runner: ProcessRunner | undefined;
  /** The mount table the engine's netns files live in. */
  mountinfo: string;
  /** The inode of each netns file's namespace, by file name (only files that are mounted namespaces). */
  netnsInodes: Map<string, number>;
  /** Processes of the engine itself, meant to stay: rootlesskit, the supervisor, containerd. */
  engine: Set<string>;
}

async function engineView(paths: Paths, runner: ProcessRunner | undefined, env: NodeJS.ProcessEnv): Promise<EngineView> {
  const names = readdirSafe(paths.netnsDir);
  if (!rootless) {
    const netnsInodes = new Map<string, number>();
    for (const name of names) {
      const ino = nsInode(join(paths.netnsDir, name));
      if (ino !== undefined) netnsInodes.set(name, ino);
    }
    return { runner: runner ?? new HostProcessRunner(), mountinfo: readSafe("/proc/self/mountinfo"), netnsInodes, engine: new Set() };
  }
  const { supervisor, containerd } = managedPids(paths);
  const engine = new Set<string>();
  if (supervisor === undefined) return { runner: undefined, mountinfo: "", netnsInodes: new Map(), engine };
  engine.add(String(supervisor));
  if (containerd !== undefined) engine.add(String(containerd));
  // rootlesskit's parent and its re-exec'd child name the state dir in their argv; the supervisor's ancestors.
  for (let pid = String(supervisor), i = 0; i < 3; i++) {
    const ppid = /^PPid:\s+(\d+)/m.exec(readSafe(`/proc/${pid}/status`))?.[1];
    if (!ppid || ppid === "1" || ppid === "0") break;
    if (!readSafe(`/proc/${ppid}/cmdline`).includes(`--state-dir=${paths.rootlesskitState}`)) break;
    engine.add(ppid);
    pid = ppid;
  }
  const inside = runner ?? new NamespaceRunner(() => supervisor);
  const netnsInodes = new Map<string, number>();
  if (names.length > 0) {
    // Inside the mount namespace a mounted netns file stats as its nsfs inode; an unmounted one is a plain file.
    const r = await inside.run("stat", ["-c", "%i %T %n", "-f", "--", ...names.map((n) => join(paths.netnsDir, n))], { env });
    const fs = new Map(r.stdout.trim().split("\n").filter(Boolean).map((l) => [l.split(" ").slice(2).join(" "), l.split(" ")[1]]));
    const st = await inside.run("stat", ["-c", "%i %n", "--", ...names.map((n) => join(paths.netnsDir, n))], { env });
    for (const line of st.stdout.trim().split("\n").filter(Boolean)) {
      const [ino, ...rest] = line.split(" ");
      const file = rest.join(" ");
      if (fs.get(file) === "nsfs") netnsInodes.set(file.slice(paths.netnsDir.length + 1), Number(ino));
    }
  }
  return { runner: inside, mountinfo: readSafe(`/proc/${supervisor}/mountinfo`), netnsInodes, engine };
}

/**
 * Processes of this run that outlived their file: shims serving this containerd (its socket in their argv), anything
 * whose argv names this run's state or runtime dir (slirp4netns names the hub netns; nsenter the agent's), and
 * anything inside the hub's or a container's network namespace (the forward agent after nsenter exec'd node). The
 * run's own managed containerd is meant to stay.
 */
function processLeaks(paths: Paths, address: string, view: EngineView): string[] {
  const netns = new Map<string, string>(); // "net:[inode]" → netns file
  for (const [name, ino] of view.netnsInodes) netns.set(`net:[${ino}]`, name);
  const ours = (arg: string) =>
    arg === address || arg.startsWith(paths.runtime + "/") || arg.startsWith(paths.state + "/") || arg === paths.runtime || arg === paths.state;
  const containerd = readSafe(paths.containerdPidFile).trim().split(/\s+/)[0];
  const leaks: string[] = [];
  for (const entry of readdirSafe("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const argv = readSafe(`/proc/${entry}/cmdline`).split("\0").filter(Boolean);
    if (argv.length === 0) continue; // a kernel thread, or gone
    if (entry === containerd || view.engine.has(entry) || (argv[0]?.endsWith("containerd") && argv.includes(paths.containerdConfig))) continue;
    let why: string | undefined;
    if (argv.some((a) => a === address || a.startsWith(`--address=${address}`))) why = "serves this containerd";
    else if (argv.some(ours)) why = "names this run's dirs";
    else {
      let ns: string | undefined;
      try {
        ns = readlinkSync(`/proc/${entry}/ns/net`);
      } catch {
        // gone, or not ours to read
      }
      const file = ns === undefined ? undefined : netns.get(ns);
      if (file !== undefined) why = `in netns ${file}`;
    }
    if (why) leaks.push(`process: ${entry} ${argv.slice(0, 4).join(" ").slice(0, 120)} (${why})`);
  }
  return leaks;
}

/** Mounts under this run's dirs, except the hub's netns file and its private netns dir while the hub exists. */
function mountLeaks(paths: Paths, view: EngineView): string[] {
  const hub = view.netnsInodes.has("hub");
  const allowed = new Set(hub ? [paths.netnsDir, paths.hubNetns] : [paths.netnsDir]);
  const under = (p: string, root: string) => p === root || p.startsWith(root + "/");
  const leaks = new Set<string>();
  for (const line of view.mountinfo.split("\n")) {
    const point = (line.split(" ")[4] ?? "").replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (!point || allowed.has(point)) continue;
    if (under(point, paths.runtime) || under(point, paths.state)) leaks.add(`mount: ${point}`);
  }
  return [...leaks];
}

function readdirSafe(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

async function list(path: string): Promise<string[]> {
  return readdir(path).catch(() => [] as string[]);
}

/** Files and directories the engine keeps per container, session or run. */
async function fileLeaks(paths: Paths, env: NodeJS.ProcessEnv): Promise<string[]> {
  const leaks: string[] = [];
  for (const f of await list(join(paths.runtime, "fifo"))) leaks.push(`fifo dir: ${f}`);
  for (const f of await list(paths.netnsDir)) if (f !== "hub") leaks.push(`netns file: ${f}`);
  for (const l of await listLeases(join(paths.ipamDir, "svcd"))) leaks.push(`ip lease: ${l.ip}`);
  for (const f of await list(paths.hostsDir)) leaks.push(`hosts files: ${f}`);
  for (const f of await list(reservedDir(paths))) if (f !== ".lock") leaks.push(`reserved address: ${f}`);
  if ((await stat(paths.egressPidFile).catch(() => undefined)) !== undefined) leaks.push("egress: slirp4netns record");
  for (const volume of await list(paths.cacheVolumesDir)) {
    for (const f of await list(join(paths.cacheVolumesDir, volume))) {
      if (f.startsWith(PRIVATE_COPY_PREFIX)) leaks.push(`private cache copy: ${volume}/${f}`);
    }
  }
  // Service logs: every container is gone by now, so a log is a leak once it is past retention; none passes its cap.
  const retention = serviceLogRetentionMs(env);
  const cap = serviceLogMaxBytes(env);
  const now = Date.now();
  const sizes = new Map<string, number>();
  for (const f of await list(paths.serviceLogsDir)) {
    const m = SERVICE_LOG_FILE.exec(f);
    const st = await stat(join(paths.serviceLogsDir, f)).catch(() => undefined);
    if (!m || !st) continue;
    if (now - st.mtimeMs > retention) leaks.push(`service log past retention: ${f}`);
    if ((st.mode & 0o777) !== 0o600) leaks.push(`service log mode ${(st.mode & 0o777).toString(8)}: ${f}`);
    sizes.set(m[1]!, (sizes.get(m[1]!) ?? 0) + st.size);
  }
  for (const [id, size] of sizes) if (size > cap) leaks.push(`service log over its cap (${size} > ${cap} bytes): ${id}`);
  // A `.run` index lives as long as its run's log (pruned with it); an aside file only for one write.
  for (const f of await list(paths.serviceLogsDir)) {
    if (f.endsWith(".tmp")) leaks.push(`service run index written aside and left: ${f}`);
    if (!SERVICE_RUN_FILE.test(f)) continue;
    let id: unknown;
    try {
      id = (JSON.parse(readFileSync(join(paths.serviceLogsDir, f), "utf8")) as { id?: unknown }).id;
    } catch {
      // unreadable: reported below as pointing at nothing
    }
    if (typeof id !== "string" || !sizes.has(id)) leaks.push(`service run index whose log is gone: ${f} → ${String(id)}`);
  }
  return leaks;
}

/** In the hub netns (when it exists): every nftables set and map empty, and no chain but base chains. */
async function nftLeaks(paths: Paths, view: EngineView, env: NodeJS.ProcessEnv): Promise<string[]> {
  if (!view.netnsInodes.has("hub")) return [];
  const result = await view.runner!.run("nsenter", [`--net=${paths.hubNetns}`, "nft", "-j", "list", "ruleset"], { env });
  if (result.exitCode !== 0) return [`nftables: could not list the hub's ruleset: ${result.stderr.trim()}`];
  const leaks: string[] = [];
  const items = (JSON.parse(result.stdout || '{"nftables":[]}') as { nftables: Record<string, Record<string, unknown>>[] }).nftables;
  for (const item of items) {
    const [kind, body] = Object.entries(item)[0] ?? [];
    if (!body) continue;
    const where = `${String(body.family)} ${String(body.table)} ${String(body.name)}`;
    if ((kind === "set" || kind === "map") && Array.isArray(body.elem) && body.elem.length > 0) {
      leaks.push(`nftables ${kind} with ${body.elem.length} elements: ${where}`);
    }
    if (kind === "chain" && body.hook === undefined) leaks.push(`nftables non-base chain: ${where}`);
  }
  return leaks;
}
