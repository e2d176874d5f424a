// The peers' shell benchmarks (../shared/bench-peers: raw ctr + CNI, podman) as runners inside one of our runs:
// their scripts stay read-only and untouched; we run them in blocks of a few iterations, each block writing its
// per-iteration CSV into a results dir of our own, and read the rows back. argv only, never a shell string.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The peers' folder: $BENCH_PEERS, else ../shared/bench-peers beside the repository. */
export function peersDir(env = process.env) {
  return env.BENCH_PEERS || resolve(fileURLToPath(new URL("../../../shared/bench-peers", import.meta.url)));
}

/** Where the peers keep all their state (lib.sh's $PB). */
export const PEER_STATE = "/tmp/peerbench";
/** The peers' own containerd socket (lib.sh's $CTD_SOCK). */
export const PEER_CONTAINERD = join(PEER_STATE, "containerd", "containerd.sock");

/** Commands the peer scripts need, and the Debian package that brings each. */
const NEEDS = { podman: "podman", skopeo: "skopeo", umoci: "umoci", jq: "jq", ctr: "containerd", ip: "iproute2" };

/** Runs `file args…` with `env` added; resolves { stdout, stderr }, rejects with the tail of stderr. */
function run(file, args, { cwd, env = {} } = {}) {
  return new Promise((resolvePromise, reject) => {
    execFile(file, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(new Error(`${file} ${args.join(" ")}: ${stderr.trim().split("\n").slice(-5).join("\n") || err.message}`), { cause: err }));
      else resolvePromise({ stdout, stderr });
    });
  });
}

/** Parses a peer CSV (header line, then numbers) into objects keyed by column. */
export function parseCsv(text) {
  const [header, ...rows] = text.trim().split("\n");
  const cols = header.split(",");
  return rows.filter(Boolean).map((line) => Object.fromEntries(line.split(",").map((v, i) => [cols[i], Number(v)])));
}

/**
 * The peers as one object: `setup()` checks tools, starts the peers' containerd once (so blocks reuse it warm) and
 * builds/loads their image; `block(script, args, n)` runs one script for n counted iterations (plus its own warm-up)
 * and returns the CSV rows; `teardown()` stops the containerd only if we started it and removes our results dir.
 */
export class Peers {
  #dir;
  #results;
  #startedContainerd = false;
  log;

  constructor({ dir = peersDir(), tag = String(process.pid), log = (s) => process.stderr.write(s + "\n") } = {}) {
    this.#dir = dir;
    this.#results = join(PEER_STATE, `svcd-bench-${tag}`);
    this.log = log;
  }

  /** Missing commands as "command (package)" strings. */
  static async missingTools() {
    const missing = [];
    for (const [cmd, pkg] of Object.entries(NEEDS)) {
      const found = await run("sh", ["-c", 'command -v "$1"', "sh", cmd]).then(() => true, () => false);
      if (!found) missing.push(`${cmd} (apt-get install ${pkg})`);
    }
    return missing;
  }

  async setup() {
    if (!existsSync(join(this.#dir, "s1-ctr.sh"))) throw new Error(`peer scripts not found in ${this.#dir} (set BENCH_PEERS)`);
    const missing = await Peers.missingTools();
    if (missing.length) throw new Error(`the peer scripts need: ${missing.join(", ")}`);
    await mkdir(this.#results, { recursive: true });
    const up = await this.#lib("if [ -S \"$CTD_SOCK\" ] && ctr -a \"$CTD_SOCK\" version >/dev/null 2>&1; then echo running; else containerd_up; echo started; fi");
    this.#startedContainerd = up.stdout.trim().endsWith("started");
    this.log(`peers: containerd at ${PEER_CONTAINERD} ${this.#startedContainerd ? "started for this run" : "already running (left running)"}`);
    await run(join(this.#dir, "make-images.sh"), [], { cwd: this.#dir, env: { RESULTS_DIR: this.#results } });
  }

  /** Runs `script args…` with N=n; returns the rows of `<results>/<csv>`. */
  async block(script, args, n, csv) {
    const path = join(this.#results, csv);
    await rm(path, { force: true });
    const { stderr } = await run(join(this.#dir, script), args, { cwd: this.#dir, env: { N: String(n), RESULTS_DIR: this.#results } });
    for (const line of stderr.split("\n")) if (/warm-up|iter \d+/.test(line)) this.log(`  ${script} ${args.join(" ")}: ${line.replace(/^\[[^\]]*\] /, "")}`);
    const rows = parseCsv(await readFile(path, "utf8"));
    if (rows.length !== n) throw new Error(`${script}: expected ${n} rows in ${path}, got ${rows.length}`);
    return rows;
  }

  async teardown() {
    if (this.#startedContainerd) await this.#lib("containerd_down");
    await rm(this.#results, { recursive: true, force: true });
  }

  /** Runs a bash snippet with the peers' lib.sh sourced (its settings, its helpers). */
  #lib(snippet) {
    return run("bash", ["-c", `set -euo pipefail; . "$1/lib.sh"; ${snippet}`, "bash", this.#dir], { cwd: this.#dir, env: { HERE: this.#dir, RESULTS_DIR: this.#results } });
  }
}
