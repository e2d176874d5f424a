#!/usr/bin/env node
// Runs svcd's uvu test files, one child process per file (a crash or hang stays in its file), and ends with exactly
// one line `N passed, N failed[, N skipped]`, the last line printed. Before the first integration file it starts
// what those tests need — a containerd (unless CONTAINERD_ADDRESS is set) and a local registry holding the test
// images — exports CONTAINERD_ADDRESS, SVCD_REGISTRY_MIRRORS=docker.io=<url> and SVCD_TEST_REGISTRY=<host:port>,
// and stops all of it on exit, Ctrl-C included. After every integration file it runs the leak check
// (test/rig/leak-check.ts) and counts each file that left something new behind as one failure, naming it.
//
// usage: node --import tsx scripts/run-tests.mjs [--coverage] [dir-or-file...]   (default: test/unit test/integration)
//   --coverage                 collect V8 coverage from every test process, print c8's text summary before the total
//   --rootless                 as root: also run the rootless pass (scripts/rootless-pass.mjs) beside this one; the
//                              default when run as root with no targets (SVCD_TEST_ROOTLESS=0 turns it off)
//   --rootless-pass            set by the rootless pass on its own run (as the test user): no nested pass
//   --daemon                   after this run's files, the daemon pass (scripts/daemon-pass.mjs): api, services,
//                              network and examples again through svcd's daemon (passed on to the rootless pass)
//   SVCD_TEST_FILE_TIMEOUT_MS  kill a test file after this long (default 600000) and count it as failed
//   SVCD_TEST_LEAK_CHECK=0     skip the per-file leak check (zz-no-leaks still runs when selected)
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const uvuBin = join(repo, "node_modules", "uvu", "bin.js");
const c8Bin = join(repo, "node_modules", "c8", "bin", "c8.js");
const fileTimeoutMs = Number(process.env.SVCD_TEST_FILE_TIMEOUT_MS || 600_000);
const TEST_FILE = /\.test\.ts$/;

const say = (message) => process.stderr.write(`run-tests: ${message}\n`);
const stripAnsi = (text) => text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, "");

// --- arguments -----------------------------------------------------------------------------------------------------
const argv = process.argv.slice(2);
const coverage = argv.includes("--coverage");
const FLAGS = ["--coverage", "--rootless", "--rootless-pass", "--daemon"];
const unknown = argv.filter((a) => a.startsWith("-") && !FLAGS.includes(a));
if (unknown.length) {
  say(`unknown option ${unknown.join(" ")}`);
  process.exit(2);
}
const targets = argv.filter((a) => !a.startsWith("-"));
const explicit = targets.length > 0;
if (!explicit) targets.push("test/unit", "test/integration");
const isRoot = process.getuid?.() === 0;
const withRootlessPass =
  isRoot && !argv.includes("--rootless-pass") && (argv.includes("--rootless") || (!explicit && process.env.SVCD_TEST_ROOTLESS !== "0"));
const withDaemonPass = argv.includes("--daemon") && process.env.SVCD_TEST_DAEMON !== "0";
/** test/integration/as-user holds tests of a user's own engine: only the rootless pass (a user) runs them. */
const AS_USER = `${join("test", "integration", "as-user")}`;

/** Test files under a directory, sorted, or the file itself. */
function collect(target) {
  const path = resolve(repo, target);
  if (!existsSync(path)) {
    if (explicit) throw new Error(`no such test path: ${target}`);
    return [];
  }
  if (statSync(path).isFile()) return [path];
  const found = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (isRoot && relative(repo, full) === AS_USER) continue;
        walk(full);
      }
      else if (TEST_FILE.test(entry.name)) found.push(full);
    }
  };
  walk(path);
  return found;
}

/** uvu's closing block, from a file's (ANSI-stripped) output; undefined when the file never got there. */
export function parseUvuTotals(output) {
  const text = stripAnsi(output);
  const last = (label) => {
    const all = [...text.matchAll(new RegExp(`^\\s*${label}:\\s+(\\d+)`, "gm"))];
    return all.length ? Number(all[all.length - 1][1]) : undefined;
  };
  const total = last("Total");
  const passed = last("Passed");
  const skipped = last("Skipped") ?? 0;
  if (total === undefined || passed === undefined) return undefined;
  return { total, passed, skipped, failed: Math.max(0, total - passed - skipped) };
}

// --- state shared with the signal handlers ------------------------------------------------------------------------
const totals = { passed: 0, failed: 0, skipped: 0 };
const cleanups = [];
let current;
let shuttingDown = false;

async function cleanup() {
  while (cleanups.length) {
    const stop = cleanups.pop();
    await stop().catch((err) => say(`cleanup failed: ${err?.message ?? err}`));
  }
}

function summary() {
  return `${totals.passed} passed, ${totals.failed} failed` + (totals.skipped > 0 ? `, ${totals.skipped} skipped` : "");
}

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    if (shuttingDown) return;
    shuttingDown = true;
    say(`${sig}: stopping`);
    current?.kill("SIGTERM");
    totals.failed += 1; // the interrupted run is not a pass
    cleanup().finally(() => {
      console.log(summary());
      process.exit(sig === "SIGINT" ? 130 : 143);
    });
  });
}

// --- integration setup --------------------------------------------------------------------------------------------
async function integrationEnv() {
  const { ensureContainerdForTests } = await import("../test/rig/containerd.ts");
  const { startRegistry, pushTestImages } = await import("../test/rig/registry.ts");
  const containerd = await ensureContainerdForTests();
  cleanups.push(() => containerd.stop());
  say(`containerd at ${containerd.address}${containerd.managed ? " (svcd's managed containerd, started now)" : ""}`);
  const registry = await startRegistry();
  cleanups.push(() => registry.stop());
  const refs = await pushTestImages(registry.url);
  say(`registry at ${registry.url} with ${refs.join(", ")}`);
  if (process.env.SVCD_TEST_LEAK_CHECK !== "0") leakCheck = await startLeakCheck(containerd.address);
  return {
    CONTAINERD_ADDRESS: containerd.address,
    SVCD_REGISTRY_MIRRORS: `docker.io=${registry.url}`,
    // Nothing past loopback is reachable here: a mirror's "not found" must not send a pull to the internet.
    SVCD_REGISTRY_FALLBACK: "0",
    SVCD_TEST_REGISTRY: registry.host,
  };
}

// --- leak check after each integration file ----------------------------------------------------------------------
let leakCheck; // { check(): Promise<string[]> } once integration is set up
async function startLeakCheck(address) {
  const { checkLeaks, describeTaskLeaks } = await import("../test/rig/leak-check.ts");
  const { ContainerdClient } = await import("../src/containerd/index.ts");
  const client = new ContainerdClient({ address, namespace: "default" });
  cleanups.push(async () => client.close());
  // Leaks already there before the first file (an earlier run's) are said once, and not blamed on any file.
  let known = new Set(await checkLeaks({ address, client }));
  if (known.size > 0) say(`left before this run (not counted): ${[...known].join("; ")}`);
  return {
    /** The leaks that appeared since the last check. */
    async check() {
      const now = await checkLeaks({ address, client });
      const fresh = now.filter((l) => !known.has(l));
      known = new Set(now);
      return describeTaskLeaks(client, fresh);
    },
  };
}

// --- one file -----------------------------------------------------------------------------------------------------
function runFile(file, env) {
  return new Promise((resolvePromise) => {
    const pattern = "^" + basename(file).replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "$";
    const args = ["--import", "tsx", uvuBin, dirname(file), pattern];
    if (!process.stdout.isTTY) args.push("--no-color");
    const child = spawn(process.execPath, args, {
      cwd: repo,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    current = child;
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    child.stderr.on("data", (chunk) => process.stderr.write(chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      say(`${relative(repo, file)} ran longer than ${fileTimeoutMs} ms: killing it`);
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
    }, fileTimeoutMs);
    child.on("error", (err) => say(`could not run ${file}: ${err.message}`));
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      current = undefined;
      resolvePromise({ code, signal, timedOut, totals: parseUvuTotals(output) });
    });
  });
}

// --- main ---------------------------------------------------------------------------------------------------------
async function main() {
  let files;
  try {
    files = targets.flatMap(collect);
  } catch (err) {
    say(err.message);
    console.log(summary().replace(/^0 passed, 0 failed/, "0 passed, 1 failed"));
    return 1;
  }
  const env = { ...process.env };
  // The embedded pass is never captured by a daemon running on this machine: the rig's connect() insists on an
  // embedded engine, and examples (auto mode) look for a socket that does not exist.
  env.SVCD_SOCKET = join(tmpdir(), `svcd-no-daemon-${process.pid}.sock`);
  delete env.SVCD_TEST_ENGINE;
  let coverageDir;
  if (coverage) {
    coverageDir = mkdtempSync(join(tmpdir(), "svcd-coverage-"));
    env.NODE_V8_COVERAGE = coverageDir;
    cleanups.unshift(async () => rmSync(coverageDir, { recursive: true, force: true }));
  }
  let rootless;
  if (withRootlessPass) {
    const { startRootlessPass } = await import("./rootless-pass.mjs");
    const logPath = join(mkdtempSync(join(tmpdir(), "svcd-rootless-pass-")), "output.log");
    rootless = startRootlessPass({ repo, collect, say, logPath, daemon: withDaemonPass });
    cleanups.push(async () => rootless.stop());
  }
  let integration; // undefined: not set up yet; null: setup failed
  for (const file of files) {
    if (shuttingDown) return 130;
    const rel = relative(repo, file);
    if (rel.split("/").includes("integration") && integration === undefined) {
      try {
        Object.assign(env, await integrationEnv());
        integration = true;
      } catch (err) {
        say(`integration setup failed: ${err?.stack ?? err}`);
        integration = null;
      }
    }
    if (rel.split("/").includes("integration") && integration === null) {
      say(`${rel}: not run (integration setup failed)`);
      totals.failed += 1;
      continue;
    }
    process.stdout.write(`\n── ${rel}\n`);
    const result = await runFile(file, env);
    if (shuttingDown) return 130;
    const counted = result.totals;
    if (counted) {
      totals.passed += counted.passed;
      totals.skipped += counted.skipped;
      totals.failed += counted.failed;
    }
    const crashed = !counted || result.timedOut || ((result.code !== 0 || result.signal) && counted.failed === 0);
    if (crashed) {
      say(`${rel}: ${result.timedOut ? "timed out" : `exited with ${result.signal ?? result.code}`} — counted as a failure`);
      totals.failed += 1;
    } else if (counted.total === 0) {
      say(`${rel}: ran no test`);
    }
    if (integration === true && rel.split("/").includes("integration") && leakCheck) {
      const started = Date.now();
      const leaks = await leakCheck.check().catch((err) => [`leak check failed: ${err?.message ?? err}`]);
      if (leaks.length > 0) {
        say(`${rel}: LEAKED (counted as a failure): ${leaks.join("; ")}`);
        totals.failed += 1;
      } else if (process.env.DEBUG_LEAK_CHECK) {
        say(`${rel}: no leaks (${Date.now() - started} ms)`);
      }
    }
  }
  if (withDaemonPass && integration === true && !shuttingDown) {
    const { runDaemonPass } = await import("./daemon-pass.mjs");
    await runDaemonPass({ repo, files, runFile, env, leakCheck, say, totals, isShuttingDown: () => shuttingDown, cleanups });
  }
  if (rootless && !shuttingDown) {
    say("waiting for the rootless pass");
    const { totals: r, logPath } = await rootless.done;
    if (logPath && existsSync(logPath)) {
      process.stdout.write(`\n══ rootless pass (as a user) ══\n`);
      process.stdout.write(readFileSync(logPath, "utf8").replace(/\n?$/, "\n").replace(/^(\d+ passed, \d+ failed.*)$/m, "rootless pass: $1"));
    }
    totals.passed += r.passed;
    totals.failed += r.failed;
    totals.skipped += r.skipped;
  }
  if (coverage && !shuttingDown) {
    // Coverage first, so that the total below stays the last line printed.
    const report = spawnSync(
      process.execPath,
      [c8Bin, "report", "--temp-directory", coverageDir, "--reporter=text-summary", "--all", "--src", "src",
        "--include", "src/**", "--exclude", "src/containerd/gen/**", "--exclude", "**/*.d.ts"],
      { cwd: repo, stdio: ["ignore", "inherit", "inherit"] },
    );
    if (report.status !== 0) say("c8 report failed (coverage only; tests unaffected)");
  }
  await cleanup();
  if (files.length === 0) say("no test files found");
  console.log(summary());
  return totals.failed > 0 || totals.passed + totals.failed === 0 ? 1 : 0;
}

// Once a signal has started the shutdown, its handler owns cleanup, the total line and the exit status.
main().then(
  (code) => {
    if (!shuttingDown) process.exit(code);
  },
  async (err) => {
    if (shuttingDown) return;
    say(err?.stack ?? String(err));
    await cleanup();
    totals.failed += 1;
    console.log(summary());
    process.exit(1);
  },
);
