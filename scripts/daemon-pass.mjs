// The daemon pass of `npm test` (issue 10): the api, services, network, examples and cli integration tests run again,
// this time through svcd's daemon. scripts/run-tests.mjs starts it after its own files (with --daemon), in the root
// run and in the rootless pass alike: it starts `svcd --namespace svcd-test` on a private socket (outside the run's
// state and runtime dirs, and never the default one), runs each file with SVCD_SOCKET pointing at it and
// SVCD_TEST_ENGINE=daemon (test/rig/connect.ts then insists on the daemon), leak-checks after every file as the
// embedded pass does — an idle daemon holds nothing but containerd — and finally stops the daemon with SIGTERM and
// checks that its shutdown left nothing either.
import { relative } from "node:path";

export const DAEMON_DIRS = ["api", "services", "network", "examples", "cli"].map((d) => `test/integration/${d}`);

/** Files of those directories that test the embedded engine itself, and why. */
export const DAEMON_SKIP = {
  "test/integration/api/hostile-input.test.ts": "checks connect() option errors and its own namespace svcd-test-hostile: embedded by design",
  "test/integration/api/prune.test.ts": "prunes its own namespace svcd-prune-test, which a daemon (one namespace) does not serve",
  "test/integration/services/containerd-restart.test.ts": "restarts the containerd under an embedded engine and passes `containerd`, a daemon-wide option",
  "test/integration/services/reaper.test.ts": "kills embedded engine processes; the daemon's own crash and reap are test/integration/daemon",
};

/** The run's files the daemon pass takes again. */
export function daemonFiles(repo, files) {
  return files.filter((f) => {
    const rel = relative(repo, f);
    return DAEMON_DIRS.some((d) => rel.startsWith(d + "/")) && !(rel in DAEMON_SKIP);
  });
}

export async function runDaemonPass({ repo, files: runFiles, runFile, env, leakCheck, say, totals, isShuttingDown, cleanups }) {
  const files = daemonFiles(repo, runFiles);
  if (files.length === 0) return;
  const { startTestDaemon } = await import("../test/rig/daemon.ts");
  let daemon;
  try {
    daemon = await startTestDaemon({ env, args: ["--namespace", "svcd-test"] });
  } catch (err) {
    say(`daemon pass: could not start svcd: ${err?.message ?? err}`);
    totals.failed += 1;
    return;
  }
  cleanups.push(() => daemon.kill());
  say(`daemon pass: svcd (pid ${daemon.pid}) on ${daemon.socket}; ${files.length} files`);
  const passEnv = { ...env, SVCD_SOCKET: daemon.socket, SVCD_TEST_ENGINE: "daemon" };
  for (const file of files) {
    if (isShuttingDown()) return;
    const rel = relative(repo, file);
    process.stdout.write(`\n── [daemon] ${rel}\n`);
    const result = await runFile(file, passEnv);
    const counted = result.totals;
    if (counted) {
      totals.passed += counted.passed;
      totals.skipped += counted.skipped;
      totals.failed += counted.failed;
    }
    if (!counted || result.timedOut || ((result.code !== 0 || result.signal) && counted.failed === 0)) {
      say(`[daemon] ${rel}: ${result.timedOut ? "timed out" : `exited with ${result.signal ?? result.code}`} — counted as a failure`);
      totals.failed += 1;
    }
    if (daemon.child.exitCode !== null || daemon.child.signalCode !== null) {
      say(`[daemon] ${rel}: svcd died (${daemon.child.signalCode ?? daemon.child.exitCode}): ${daemon.stderr().slice(-2000)}`);
      totals.failed += 1;
      return;
    }
    const leaks = leakCheck ? await leakCheck.check().catch((err) => [`leak check failed: ${err?.message ?? err}`]) : [];
    if (leaks.length > 0) {
      say(`[daemon] ${rel}: LEAKED (counted as a failure): ${leaks.join("; ")}`);
      totals.failed += 1;
    }
  }
  const code = await daemon.stop();
  if (code !== 0) {
    say(`daemon pass: svcd exited with ${code} on SIGTERM: ${daemon.stderr().slice(-2000)}`);
    totals.failed += 1;
  }
  const leaks = leakCheck ? await leakCheck.check().catch((err) => [`leak check failed: ${err?.message ?? err}`]) : [];
  if (leaks.length > 0) {
    say(`daemon pass: svcd's shutdown LEAKED (counted as a failure): ${leaks.join("; ")}`);
    totals.failed += 1;
  }
}
