// Session isolation inside the hub: an nftables `bridge` table in the hub netns (never the host's) lets a container
// reach another only when both belong to the same session. Each admitted address maps to its session's chain, which
// accepts sources from that session's set and drops the rest; ARP and traffic to the hub itself are untouched.
//
// Ruleset (table bridge svcd): map `dest` ipv4 → verdict `jump s_<session>`; per session a set `m_<session>` of its
// addresses and a chain `s_<session>` { ip saddr @m_<session> accept; drop }; chains `forward` (bridged frames) and
// `input` (frames to the hub's own addresses: host-service listeners), each { ip daddr vmap @dest }. Invariant: an address is in at most one session's set and `dest` entry; admitting a fresh
// address first drops whatever a crashed engine left for it. Every update is one atomic `nft -f -` transaction.
import { debug } from "../../common/debug.js";
import { InternalError, InvalidArgumentError } from "../../common/errors.js";
import type { ProcessRunner } from "../../common/process-runner.js";
import { validateIp } from "../hosts/host-names.js";

const log = debug("network");
const TABLE = "svcd";
const SESSION_KEY = /^[0-9a-v]{13}$/;

export class SessionFirewall {
  readonly #hubNetns: string;
  readonly #runner: ProcessRunner;
  /** Sessions whose chain rules this process has checked (the rules themselves live in the kernel). */
  readonly #ready = new Set<string>();
  // One update at a time from this process keeps the check-then-add of rules from racing itself.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(hubNetns: string, runner: ProcessRunner) {
    this.#hubNetns = hubNetns;
    this.#runner = runner;
  }

  /** Puts `ip` in session `key`'s group: reachable only from the session's own addresses. */
  admit(key: string, ip: string): Promise<void> {
    checkKey(key);
    validateIp(ip);
    return this.#serial(() => this.#admit(key, ip));
  }

  async #admit(key: string, ip: string): Promise<void> {
    if (!this.#ready.has(key)) {
      await this.#nft(this.#base(key).join("\n"));
      await this.#ensureRules(key);
      this.#ready.add(key);
    }
    const add = [`add element bridge ${TABLE} m_${key} { ${ip} }`, `add element bridge ${TABLE} dest { ${ip} : jump s_${key} }`].join("\n");
    if (await this.#nft(add, "exists")) return;
    // A stale entry for this address (a crashed engine's) would send its traffic to the wrong session: replace it.
    await this.#nft(`delete element bridge ${TABLE} dest { ${ip} }`, "missing");
    await this.#nft(add);
  }

  #base(key: string): string[] {
    return [
      `add table bridge ${TABLE}`,
      `add map bridge ${TABLE} dest { type ipv4_addr : verdict ; }`,
      `add chain bridge ${TABLE} forward { type filter hook forward priority 0 ; policy accept ; }`,
      // Frames to the hub's own addresses (host-service listeners) pass the input hook: the same map guards them.
      `add chain bridge ${TABLE} input { type filter hook input priority 0 ; policy accept ; }`,
      `add set bridge ${TABLE} m_${key} { type ipv4_addr ; }`,
      `add chain bridge ${TABLE} s_${key}`,
    ];
  }

  /** Removes `ip` from session `key`'s group; idempotent. */
  evict(key: string, ip: string): Promise<void> {
    checkKey(key);
    validateIp(ip);
    return this.#serial(async () => {
      // One transaction in the usual case; element by element when one of them is already gone.
      if (await this.#nft(`delete element bridge ${TABLE} dest { ${ip} }\ndelete element bridge ${TABLE} m_${key} { ${ip} }`, "missing")) return;
      await this.#nft(`delete element bridge ${TABLE} dest { ${ip} }`, "missing");
      await this.#nft(`delete element bridge ${TABLE} m_${key} { ${ip} }`, "missing");
    });
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => {});
    return next;
  }

  /** Adds the forward rule and the session chain's rules once (nft has no idempotent `add rule`). */
  async #ensureRules(key: string): Promise<void> {
    const listed = await this.#runner.run("nsenter", [`--net=${this.#hubNetns}`, "--", "nft", "list", "table", "bridge", TABLE]);
    const text = listed.stdout;
    const script: string[] = [];
    if (!/chain forward \{[^}]*ip daddr vmap @dest/.test(text)) script.push(`add rule bridge ${TABLE} forward ip daddr vmap @dest`);
    if (!/chain input \{[^}]*ip daddr vmap @dest/.test(text)) script.push(`add rule bridge ${TABLE} input ip daddr vmap @dest`);
    const chain = new RegExp(`chain s_${key} \\{[^}]*ip saddr @m_${key} accept`).test(text);
    if (!chain) script.push(`add rule bridge ${TABLE} s_${key} ip saddr @m_${key} accept`, `add rule bridge ${TABLE} s_${key} drop`);
    if (script.length > 0) await this.#nft(script.join("\n"));
  }

  /**
   * Runs one nft transaction in the hub. Returns true when it applied; false when it failed only because an element
   * was `missing` (No such file) or `exists` (File exists) and the caller said that may happen; throws otherwise.
   */
  async #nft(script: string, tolerate?: "missing" | "exists"): Promise<boolean> {
    const r = await this.#runner.run("nsenter", [`--net=${this.#hubNetns}`, "--", "nft", "-f", "-"], { input: script + "\n" });
    if (r.exitCode === 0) return true;
    if (tolerate === "missing" && /No such file or directory/.test(r.stderr)) return false;
    if (tolerate === "exists" && /File exists/.test(r.stderr)) return false;
    log("nft failed: %s: %s", script, r.stderr.trim());
    throw new InternalError(`nft in the hub network failed (apt-get install nftables): ${r.stderr.trim()}`);
  }
}

function checkKey(key: string): void {
  if (!SESSION_KEY.test(key)) throw new InvalidArgumentError(`invalid session key ${JSON.stringify(key)}`);
}
