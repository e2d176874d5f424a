// Session isolation inside the hub, for every protocol: an nftables `bridge` table in the hub netns (never the host's)
// whose per-port filters let a frame in only from an admitted port with that port's own MAC and IPv4 address (IPv4
// and ARP only), and out only through ports of the sender's session; the hub's own guarded addresses (host-service
// listeners) answer only their session's ports. The ruleset and its reasons are in firewall-rules.ts.
//
// Work per address is one `nft -f -` transaction (admit: add its elements, with the table and the session's chains
// declared on the session's first admit or when found missing; evict: delete them, plus the session's set and
// chains with its last address); filtering itself is all in the kernel, no packet ever meets user space. Updates
// that queue up while one runs go together as one transaction (K services starting at once cost a few nft runs, not
// K in a row; issue 13); if that transaction fails, each is applied alone as before.
// Invariants: an admitted port's MAC and address are the only source it may use; an address is in at most one
// session's `dest` entry — admitting replaces whatever a crashed engine left for it; ports are keyed by ifindex,
// which the kernel does not reuse, so leftovers for dead ports match nothing. A session whose last address this
// process evicts loses its set and chains (unless another process still has elements in it: the kernel refuses).
import { debug } from "../../common/debug.js";
import { InternalError } from "../../common/errors.js";
import type { ProcessRunner } from "../../common/process-runner.js";
import {
  addressElements,
  adding,
  checkIpv4,
  checkPort,
  checkSessionKey,
  declareBaseScript,
  declareScript,
  declareSessionScript,
  deleting,
  dropSessionScript,
  portElements,
  resetScript,
  staleDest,
  type FirewallPort,
} from "./firewall-rules.js";

const log = debug("network");

export type { FirewallPort } from "./firewall-rules.js";

type Tolerated = "missing" | "exists" | "busy";

/** One admit or evict: an address of session `key` and its set elements. */
interface Update {
  key: string;
  ip: string;
  elements: string[];
}

interface Pending extends Update {
  resolve(): void;
  reject(err: unknown): void;
}

export class SessionFirewall {
  readonly #hubNetns: string;
  readonly #runner: ProcessRunner;
  /** Per session key, how many ports and addresses this process has admitted. */
  readonly #admitted = new Map<string, number>();
  /** Sessions whose set and chains this process has declared (later admits send their elements alone). */
  readonly #declared = new Set<string>();
  /** Whether this process has declared the table and its base chains. */
  #base = false;
  // One update at a time from this process keeps the admit/evict counts and the kernel's table in step.
  #queue: Promise<unknown> = Promise.resolve();
  /** Admits and evicts waiting for their turn in #queue (one queued turn takes all of a kind). */
  readonly #waiting: Record<"admit" | "evict", Pending[]> = { admit: [], evict: [] };

  constructor(hubNetns: string, runner: ProcessRunner) {
    this.#hubNetns = hubNetns;
    this.#runner = runner;
  }

  /** Admits a container's port to session `key`: it may send only as `mac`/`ip` and reach only the session. */
  admitContainer(key: string, port: FirewallPort): Promise<void> {
    checkSessionKey(key);
    checkPort(port);
    return this.#batched("admit", { key, ip: port.ip, elements: portElements(key, port) });
  }

  /** Guards one of the hub's own addresses (a host-service listener): reachable only from session `key`. */
  admitAddress(key: string, ip: string): Promise<void> {
    checkSessionKey(key);
    checkIpv4(ip);
    return this.#batched("admit", { key, ip, elements: addressElements(key, ip) });
  }

  /** Undoes admitContainer; idempotent. */
  evictContainer(key: string, port: FirewallPort): Promise<void> {
    checkSessionKey(key);
    checkPort(port);
    return this.#batched("evict", { key, ip: port.ip, elements: portElements(key, port) });
  }

  /** Undoes admitAddress; idempotent. */
  evictAddress(key: string, ip: string): Promise<void> {
    checkSessionKey(key);
    checkIpv4(ip);
    return this.#batched("evict", { key, ip, elements: addressElements(key, ip) });
  }

  /** Removes the whole table: only when no engine is attached to the hub (everything in it is then an orphan). */
  static async reset(hubNetns: string, runner: ProcessRunner): Promise<void> {
    await nft(runner, hubNetns, resetScript());
  }

  /** Queues one update; the first of a kind to wait schedules the turn that applies all waiting then. */
  #batched(kind: "admit" | "evict", update: Update): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiting = this.#waiting[kind];
      waiting.push({ ...update, resolve, reject });
      if (waiting.length > 1) return;
      void this.#serial(async () => {
        const batch = waiting.splice(0);
        if (kind === "admit") await this.#admitAll(batch);
        else await this.#evictAll(batch);
      });
    });
  }

  async #admitAll(batch: Pending[]): Promise<void> {
    if (batch.length > 1) {
      const keys = [...new Set(batch.map((b) => b.key))];
      const needed = [...(this.#base ? [] : declareBaseScript()), ...keys.filter((k) => !this.#declared.has(k)).flatMap(declareSessionScript)];
      const outcome = await this.#nft([...needed, ...batch.flatMap((b) => adding(b.elements))], "exists", "missing").catch(() => "failed");
      if (outcome === "ok") {
        this.#base = true;
        for (const b of batch) {
          this.#declared.add(b.key);
          this.#admitted.set(b.key, (this.#admitted.get(b.key) ?? 0) + 1);
          b.resolve();
        }
        return;
      }
    }
    for (const b of batch) await this.#admit(b.key, b.ip, b.elements).then(b.resolve, b.reject);
  }

  async #evictAll(batch: Pending[]): Promise<void> {
    if (batch.length === 1) {
      const [b] = batch as [Pending];
      return this.#evict(b.key, b.elements).then(b.resolve, b.reject);
    }
    const drops: string[] = [];
    for (const b of batch) {
      if (this.#forget(b.key)) drops.push(b.key);
    }
    const dropLines = drops.flatMap(dropSessionScript);
    try {
      if ((await this.#nft([...batch.flatMap((b) => deleting(b.elements)), ...dropLines], "missing", "busy")) !== "ok") {
        for (const b of batch) for (const line of deleting(b.elements)) await this.#nft([line], "missing");
        if (dropLines.length > 0) await this.#nft(dropLines, "missing", "busy");
      }
    } catch (err) {
      for (const b of batch) b.reject(err);
      return;
    }
    for (const b of batch) b.resolve();
  }

  /** Counts one address of `key` out; true when it was this process's last one (its set and chains go too). */
  #forget(key: string): boolean {
    const left = Math.max(0, (this.#admitted.get(key) ?? 0) - 1);
    if (left === 0) {
      this.#admitted.delete(key);
      this.#declared.delete(key);
    } else this.#admitted.set(key, left);
    return left === 0;
  }

  async #admit(key: string, ip: string, elements: string[]): Promise<void> {
    const full = [...declareScript(key), ...adding(elements)];
    // Declarations double a transaction's cost: sent the first time (base once, a session's on its first admit),
    // and all of them again when something turns out to be missing.
    const needed = [...(this.#base ? [] : declareBaseScript()), ...(this.#declared.has(key) ? [] : declareSessionScript(key))];
    let outcome = await this.#nft([...needed, ...adding(elements)], "exists", "missing");
    if (outcome === "missing") outcome = await this.#nft(full, "exists");
    if (outcome === "exists") {
      // Another session's entry for this address (a crashed engine's) would misroute its traffic: replace it.
      log("firewall: replacing a stale entry for %s", ip);
      await this.#nft([staleDest(ip)], "missing");
      await this.#nft(full);
    }
    this.#base = true;
    this.#declared.add(key);
    this.#admitted.set(key, (this.#admitted.get(key) ?? 0) + 1);
  }

  async #evict(key: string, elements: string[]): Promise<void> {
    const drop = this.#forget(key) ? dropSessionScript(key) : [];
    // One transaction in the usual case; piece by piece when something is already gone or still in use.
    if ((await this.#nft([...deleting(elements), ...drop], "missing", "busy")) === "ok") return;
    for (const line of deleting(elements)) await this.#nft([line], "missing");
    if (drop.length > 0) await this.#nft(drop, "missing", "busy");
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => {});
    return next;
  }

  #nft(lines: string[], ...tolerate: Tolerated[]): Promise<"ok" | Tolerated> {
    return nft(this.#runner, this.#hubNetns, lines, tolerate);
  }
}

const TOLERATED: Record<Tolerated, RegExp> = {
  missing: /No such file or directory|Interface does not exist/,
  exists: /File exists/,
  busy: /Device or resource busy/,
};

/**
 * Runs one nft transaction in the hub (nothing of it applies unless all does). "ok" when it applied, else the
 * reason it failed when the caller tolerates it (an element or chain `missing`, an element that `exists` with other
 * data, a chain still `busy`); throws otherwise.
 */
async function nft(runner: ProcessRunner, hubNetns: string, lines: string[], tolerate: Tolerated[] = []): Promise<"ok" | Tolerated> {
  const script = lines.join("\n") + "\n";
  const r = await runner.run("nsenter", [`--net=${hubNetns}`, "--", "nft", "-f", "-"], { input: script });
  if (r.exitCode === 0) return "ok";
  const reason = tolerate.find((t) => TOLERATED[t].test(r.stderr));
  if (reason) return reason;
  log("nft failed: %s: %s", script, r.stderr.trim());
  throw new InternalError(`nft in the hub network failed (apt-get install nftables): ${r.stderr.trim()}`);
}
