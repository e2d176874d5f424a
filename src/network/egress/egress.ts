// Egress for containers: one slirp4netns process per machine-wide hub, its tap device inside the hub netns, and NAT
// of the container subnet out of that tap (nftables in the HUB netns only: the host's tables are never touched).
// Packet path: container → hub bridge → ip forward + masquerade → tap → slirp4netns (a user-mode TCP/IP stack in
// the host netns, opening ordinary sockets) → wherever the host routes. `--disable-host-loopback` keeps the host's
// 127.0.0.1 out of reach (slirp's gateway address refuses connections).
//
// Lifecycle: ensure() runs under Paths.hubSetupLock at every hub attach; it reuses a live slirp4netns whose tap is in
// the hub, else stops a stale one and starts another. The process is detached (own session, no exit fd) so it
// outlives the engine that started it; its pid record (slirp-record.ts) lets the hub's last holder stop it in
// teardown, and the next attach or teardown clean up after a SIGKILLed engine. Failures become an EgressError
// ("egress is off: <why>") and leave nothing running; the hub keeps working without egress.
import { constants, openSync, closeSync } from "node:fs";
import { access, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Readable } from "node:stream";
import { debug } from "../../common/debug.js";
import { CancelledError, SvcdError, throwIfAborted } from "../../common/errors.js";
import type { Paths } from "../../common/paths.js";
import { ensurePrivateDir } from "../../common/private-dir.js";
import { runChecked, type ProcessRunner } from "../../common/process-runner.js";
import { EgressError, TUN_DEVICE, tunUnusableReason } from "./egress-error.js";
import { HUB_SYSCTLS, natRuleset, planEgress, slirpArgs, type EgressPlan, type EgressPlanInput } from "./egress-plan.js";
import { procStat, readSlirpRecord, recordAlive, removeSlirpRecord, writeSlirpRecord, type SlirpRecord } from "./slirp-record.js";

const log = debug("network");

/** How long slirp4netns may take to configure its tap before egress is declared off. */
const READY_TIMEOUT_MS = 10_000;
/** SIGTERM, then SIGKILL after this long. */
const STOP_GRACE_MS = 2_000;
/** The fd slirp4netns writes to once configured (the 4th stdio entry). */
const READY_FD = 3;

/** What egress needs to know about the machine and the hub. */
export interface EgressContext {
  paths: Paths;
  runner: ProcessRunner;
  env?: NodeJS.ProcessEnv;
  /** The hub netns file slirp4netns joins by path. */
  hubNetns: string;
  /** The hub's container subnet (masqueraded out of the tap). */
  hubSubnet: string;
  /** The hub bridge's name (for the forward guard). */
  bridge: string;
}

/** Options for ensure(): the context plus slirp's network settings (cidr, tap, mtu; see planEgress). */
export interface EgressOptions extends EgressContext, Omit<EgressPlanInput, "hubSubnet"> {
  signal?: AbortSignal;
}

/** A running egress: slirp4netns's process and the addresses containers use. */
export class Egress {
  readonly pid: number;
  /** slirp's network (e.g. 10.0.2.0/24). */
  readonly cidr: string;
  /** The tap device in the hub netns. */
  readonly tap: string;
  readonly mtu: number;
  /** The tap's address in the hub netns; container traffic leaves masqueraded to it. */
  readonly tapAddress: string;
  /** slirp's DNS forwarder: the `nameserver` for containers' resolv.conf. */
  readonly nameserver: string;

  private constructor(record: SlirpRecord, plan: EgressPlan) {
    this.pid = record.pid;
    this.cidr = plan.cidr;
    this.tap = plan.tap;
    this.mtu = plan.mtu;
    this.tapAddress = plan.tapAddress;
    this.nameserver = plan.nameserver;
  }

  /** The nameservers for containers' resolv.conf. */
  get nameservers(): string[] {
    return [this.nameserver];
  }

  /**
   * Makes sure egress runs for the hub (call under Paths.hubSetupLock): the live one when there is one, else a new
   * slirp4netns. InvalidArgumentError for bad settings; EgressError when egress cannot run here.
   */
  static async ensure(opts: EgressOptions): Promise<Egress> {
    const plan = planEgress({ cidr: opts.cidr, tap: opts.tap, mtu: opts.mtu, hubSubnet: opts.hubSubnet });
    throwIfAborted(opts.signal);
    const running = await Egress.find(opts);
    if (running) {
      if (running.cidr !== plan.cidr || running.tap !== plan.tap) {
        log("egress: keeping the running slirp4netns (pid %d, %s) over the requested %s", running.pid, running.cidr, plan.cidr);
      }
      return running;
    }
    await Egress.stop(opts);
    return Egress.#start(opts, plan);
  }

  /** The live egress of the hub, or undefined (no record, a dead process, or its tap not in this hub netns). */
  static async find(ctx: EgressContext): Promise<Egress | undefined> {
    const record = await readSlirpRecord(ctx.paths.egressPidFile);
    if (!record || !recordAlive(record)) return undefined;
    const tapUp = await ctx.runner.run("nsenter", [`--net=${ctx.hubNetns}`, "--", "ip", "-o", "link", "show", "dev", record.tap], {
      env: ctx.env,
    });
    if (tapUp.exitCode !== 0) return undefined;
    try {
      return new Egress(record, planEgress({ cidr: record.cidr, tap: record.tap, mtu: record.mtu, hubSubnet: ctx.hubSubnet }));
    } catch {
      return undefined; // a record for another hub subnet: stale
    }
  }

  /** Stops the recorded slirp4netns (SIGTERM, then SIGKILL) and deletes its record; idempotent, never throws. */
  static async stop(ctx: Pick<EgressContext, "paths">): Promise<void> {
    const path = ctx.paths.egressPidFile;
    const record = await readSlirpRecord(path);
    if (record && recordAlive(record)) {
      log("egress: stopping slirp4netns pid %d", record.pid);
      if (!(await signalAndWait(record, "SIGTERM", STOP_GRACE_MS))) await signalAndWait(record, "SIGKILL", STOP_GRACE_MS);
    }
    await removeSlirpRecord(path).catch((err) => log("egress: could not remove %s: %s", path, String(err)));
  }

  static async #start(opts: EgressOptions, plan: EgressPlan): Promise<Egress> {
    try {
      await access(TUN_DEVICE, constants.R_OK | constants.W_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "unusable";
      throw new EgressError(tunUnusableReason(code, process.getuid?.() ?? 0), { cause: err });
    }
    const record = await launch(opts, plan);
    try {
      await writeSlirpRecord(opts.paths.egressPidFile, record);
      const inHub = [`--net=${opts.hubNetns}`, "--"];
      await runChecked(opts.runner, "nsenter", [...inHub, "sysctl", "-q", "-e", "-w", ...HUB_SYSCTLS], { env: opts.env, signal: opts.signal });
      await runChecked(opts.runner, "nsenter", [...inHub, "nft", "-f", "-"], {
        env: opts.env,
        signal: opts.signal,
        input: natRuleset(plan, opts.hubSubnet, opts.bridge),
      });
    } catch (err) {
      await Egress.stop(opts);
      if (err instanceof CancelledError) throw err;
      const why = SvcdError.is(err) ? err.message : String(err);
      throw new EgressError(`NAT for the container subnet in the hub could not be set up (apt-get install nftables): ${why}`, { cause: err });
    }
    log("egress: slirp4netns pid %d, tap %s at %s, DNS %s", record.pid, plan.tap, plan.tapAddress, plan.nameserver);
    return new Egress(record, plan);
  }
}

/** Starts slirp4netns detached and waits until it reports the tap configured; EgressError with its log otherwise. */
async function launch(opts: EgressOptions, plan: EgressPlan): Promise<SlirpRecord> {
  const logPath = opts.paths.egressLog;
  await ensurePrivateDir(opts.paths, dirname(logPath));
  const logFd = openSync(logPath, "w", 0o600);
  let child;
  try {
    child = opts.runner.spawn("slirp4netns", slirpArgs(plan, opts.hubNetns, READY_FD), {
      env: opts.env,
      detached: true,
      stdio: ["ignore", logFd, logFd, "pipe"],
    });
  } finally {
    closeSync(logFd);
  }
  const ready = child.stdio[READY_FD] as Readable | null | undefined;
  const outcome = await new Promise<{ ok: true } | { ok: false; why: string; cause?: unknown }>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (result: { ok: true } | { ok: false; why: string; cause?: unknown }) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      ready?.removeAllListeners("data");
      child.removeListener("exit", onExit);
      child.removeListener("error", onError);
      resolve(result);
    };
    const onAbort = () => done({ ok: false, why: "cancelled", cause: opts.signal?.reason });
    const onExit = (code: number | null, sig: NodeJS.Signals | null) =>
      done({ ok: false, why: `slirp4netns exited (${sig ?? `code ${code}`}) before configuring ${plan.tap}` });
    const onError = (err: NodeJS.ErrnoException) =>
      done({
        ok: false,
        why: err.code === "ENOENT" ? "slirp4netns is not installed: apt-get install slirp4netns" : `could not run slirp4netns: ${err.message}`,
        cause: err,
      });
    child.once("exit", onExit);
    child.once("error", onError);
    ready?.once("data", () => done({ ok: true }));
    timer = setTimeout(() => done({ ok: false, why: `slirp4netns did not configure ${plan.tap} within ${READY_TIMEOUT_MS} ms` }), READY_TIMEOUT_MS);
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener("abort", onAbort, { once: true });
  });
  ready?.destroy();
  child.unref();
  const stat = child.pid === undefined ? undefined : procStat(child.pid);
  if (outcome.ok && child.pid !== undefined && stat) {
    return { pid: child.pid, startTime: stat.startTime, cidr: plan.cidr, tap: plan.tap, mtu: plan.mtu };
  }
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  if (!outcome.ok && outcome.why === "cancelled") throw new CancelledError("starting egress cancelled", { cause: outcome.cause });
  const tail = (await readFile(logPath, "utf8").catch(() => "")).trim().split("\n").slice(-5).join("; ");
  const why = outcome.ok ? "slirp4netns vanished right after starting" : outcome.why;
  throw new EgressError(tail ? `${why}: ${tail}` : why, { cause: outcome.ok ? undefined : outcome.cause });
}

/** Sends `sig` to the recorded process and polls until it is gone; true when it went within `waitMs`. */
async function signalAndWait(record: SlirpRecord, sig: NodeJS.Signals, waitMs: number): Promise<boolean> {
  try {
    process.kill(record.pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return true;
    log("egress: %s to pid %d failed: %s", sig, record.pid, String(err));
  }
  // Not necessarily our child (another engine may have started it): /proc is the only way to watch it go.
  const deadline = Date.now() + waitMs;
  while (recordAlive(record)) {
    if (Date.now() >= deadline) return false;
    await sleep(20);
  }
  return true;
}
