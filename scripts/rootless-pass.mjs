// The rootless pass of `npm test`: the integration tests of api, services, network, forward, runtime, examples,
// daemon and cli (and test/integration/as-user, which only makes sense as a user) run again as the unprivileged user svcd-test,
// on that user's own rootless engine, while the root pass runs. scripts/run-tests.mjs starts it when run as root
// on the default targets (or with --rootless), and adds its totals to the one total line.
//
// Files that are root-only by nature are listed in ROOT_ONLY with the reason (docs/testing.md repeats the list).
import { spawn, spawnSync } from "node:child_process";
import { cpSync, createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";

export const ROOTLESS_USER = "svcd-test";
export const ROOTLESS_DIRS = ["api", "services", "network", "forward", "runtime", "examples", "daemon", "cli", "as-user"].map((d) => `test/integration/${d}`);

/** Integration files that cannot run as a user, and why. */
export const ROOT_ONLY = {
  // None today: every selected file runs in both modes, asserting per mode where a user namespace differs by nature.
  // An entry is `"test/integration/<dir>/<file>.test.ts": "why it cannot run as a user"`.
};

/** The last `N passed, N failed[, N skipped]` line of a run's output. */
export function parseTotalLine(text) {
  const lines = text.trimEnd().split("\n").reverse();
  for (const line of lines) {
    const m = /^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/.exec(line.trim());
    if (m) return { passed: Number(m[1]), failed: Number(m[2]), skipped: Number(m[3] ?? 0) };
  }
  return undefined;
}

/**
 * The repo as `user` can read it: in place when they can, else a fresh copy under /var/tmp (a clone under /root is
 * not readable by other users), which `remove()` deletes.
 */
export function readableRepo(repo, user) {
  const probe = spawnSync("runuser", ["-u", user, "--", "test", "-r", join(repo, "package.json"), "-a", "-x", join(repo, "node_modules")]);
  if (probe.status === 0) return { root: repo, remove: () => {} };
  const copy = mkdtempSync("/var/tmp/svcd-rootless-repo-");
  cpSync(repo, copy, { recursive: true, filter: (src) => !src.startsWith(join(repo, ".git")) });
  spawnSync("chmod", ["-R", "a+rX", copy]);
  return { root: copy, remove: () => rmSync(copy, { recursive: true, force: true }) };
}

/**
 * Starts the pass; resolves with its totals (a pass that could not run counts as one failure) and the path of its
 * full output, which the caller prints after its own files.
 */
export function startRootlessPass({ repo, collect, say, logPath, daemon = false }) {
  const setup = spawnSync("bash", [join(repo, "scripts/rootless-users.sh")], { encoding: "utf8" });
  if (setup.status !== 0) {
    say(`rootless pass: could not create the test users: ${setup.stderr.trim()}`);
    return { done: Promise.resolve({ totals: { passed: 0, failed: 1, skipped: 0 }, logPath: undefined }), stop: () => {} };
  }
  const { root, remove } = readableRepo(repo, ROOTLESS_USER);
  // SVCD_TEST_ROOTLESS_TARGETS (space-separated) narrows the pass, for working on it.
  const targets = process.env.SVCD_TEST_ROOTLESS_TARGETS?.split(/\s+/).filter(Boolean) ?? ROOTLESS_DIRS;
  const files = targets.flatMap((d) => collect(d))
    .map((f) => relative(repo, f))
    .filter((f) => !(f in ROOT_ONLY));
  const home = `/home/${ROOTLESS_USER}`;
  const env = [
    `HOME=${home}`,
    `USER=${ROOTLESS_USER}`,
    `LOGNAME=${ROOTLESS_USER}`,
    `PATH=${process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin"}`,
    "LANG=C.UTF-8",
    // The load test's 20 clients run 3 seed scenarios each here, not 10: the root pass runs the full load beside
    // this pass on the same 2 cores, and the user engine's rounds add leak-freedom, not a second throughput figure.
    `SVCD_TEST_LOAD_SCENARIOS=${process.env.SVCD_TEST_LOAD_SCENARIOS ?? 3}`,
    ...["SVCD_TEST_FILE_TIMEOUT_MS", "SVCD_TEST_LEAK_CHECK", "DEBUG"].filter((k) => process.env[k]).map((k) => `${k}=${process.env[k]}`),
  ];
  const out = createWriteStream(logPath);
  const child = spawn("runuser", ["-u", ROOTLESS_USER, "--", "env", "-i", ...env, process.execPath, "--import", "tsx", "scripts/run-tests.mjs", "--rootless-pass", ...(daemon ? ["--daemon"] : []), ...files], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  say(`rootless pass: ${files.length} files as ${ROOTLESS_USER} in ${root}, beside the root pass (output: ${logPath})`);
  child.stdout.pipe(out, { end: false });
  child.stderr.pipe(out, { end: false });
  const done = new Promise((resolve) => {
    child.on("error", (err) => say(`rootless pass: could not start: ${err.message}`));
    child.on("close", (code, signal) => {
      remove();
      out.end(() => {
        const text = existsSync(logPath) ? readFileSync(logPath, "utf8") : "";
        const totals = parseTotalLine(text);
        if (!totals) {
          say(`rootless pass: ended (${signal ?? code}) without a total line: counted as one failure`);
          resolve({ totals: { passed: 0, failed: 1, skipped: 0 }, logPath });
          return;
        }
        resolve({ totals, logPath });
      });
    });
  });
  return { done, stop: () => child.kill("SIGTERM") };
}
