// The machine-wide hub: one private network namespace holding a bridge, shared by every engine process, and the
// per-container netns files attached to it through Debian's CNI plugins.
//
// State (all under Paths): the hub netns file (Paths.hubNetns), container netns files (Paths.containerNetns(id)),
// the CNI config list (Paths.cniNetworkConfig) and host-local's leases (Paths.ipamDir/svcd/). A container netns is
// created with its `lo` already up (`unshare --net=<file> ip link set lo up`), which spares a loopback plugin run.
// Locks: Paths.hubSetupLock (exclusive) serialises creating and tearing down the hub; Paths.hubLock is held SHARED by
// each attached HubNetwork for its life — the kernel's reference count of engines — and taken exclusively (without
// waiting, under the setup lock) only to learn that no engine is attached. host-local locks its own lease dir.
// Invariants: while any engine holds hubLock, the hub netns exists with the bridge and its gateway address, and its
// subnet is the one in the stored config; with no holder, every container netns and lease is an orphan (an engine
// holds hubLock for as long as its containers live), so attach and the last release reap them all.
// Egress (src/network/egress): every attach makes sure the hub's slirp4netns runs (under the setup lock); the last
// holder stops it in teardown. When it cannot run, the hub works without it and `egress` says why.
import { readFile, rm, writeFile } from "node:fs/promises";
import { ensurePrivateDir } from "../../common/private-dir.js";
import { join } from "node:path";
import { InternalError, InvalidArgumentError, throwIfAborted } from "../../common/errors.js";
import { acquireFileLock, tryAcquireFileLock, withFileLock, type HeldLock } from "../../common/file-lock.js";
import type { Paths } from "../../common/paths.js";
import { runChecked, type ProcessRunner } from "../../common/process-runner.js";
import { debug } from "../../common/debug.js";
import { bridgeNetwork, pluginStdin, subnetOfConfig, type CniConfigList } from "../cni/cni-config.js";
import { CniPlugins, locateCniPlugins } from "../cni/cni-plugins.js";
import { resultAttachment } from "../cni/cni-result.js";
import { CniError } from "../cni/cni-error.js";
import { validateContainerId } from "../container-id.js";
import { listLeases } from "../ipam-leases.js";
import { planSubnet, reservedAddressOf, type SubnetPlan } from "../subnet.js";
import { NetnsFiles } from "./netns-files.js";
import { SessionFirewall } from "./session-firewall.js";
import { Egress } from "../egress/egress.js";
import { EgressError } from "../egress/egress-error.js";
import { planEgress } from "../egress/egress-plan.js";

const log = debug("network");

/** The hub's subnet unless configured: a private range unlikely to collide with docker (172.17/16) or podman. */
export const DEFAULT_SUBNET = "10.87.0.0/16";
/** The bridge's name inside the hub netns (the host never sees it). */
export const HUB_BRIDGE = "svcd0";

/**
 * The hub bridge's fixed MAC: locally administered unicast (02:…), "sv" (73:76), then the gateway's last three
 * bytes, so each hub's is stable for its life and distinct from every veth's random one.
 */
export function bridgeMac(gateway: string): string {
  const b = gateway.split(".").map(Number).slice(1);
  return ["02", "73", "76", ...b.map((x) => x.toString(16).padStart(2, "0"))].join(":");
}
/** The CNI network name: host-local keeps leases in `<ipamDir>/<name>/`. */
export const NETWORK_NAME = "svcd";
const CONTAINER_IFNAME = "eth0";
const NETNS_PREFIX = "ctr-";

export interface HubOptions {
  paths: Paths;
  runner: ProcessRunner;
  /** IPv4 CIDR, prefix 8…28; default 10.87.0.0/16. Every engine sharing the hub must agree. */
  subnet?: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /**
   * Containers' route to the outside through slirp4netns (default on). `false` starts none (one another engine
   * started is still used); an object sets slirp's network (default 10.0.2.0/24), tap name (tap0) and MTU (65520).
   * The first engine to start it decides the settings.
   */
  egress?: boolean | HubEgressSettings;
}

/** slirp4netns's settings for the hub; see planEgress. */
export interface HubEgressSettings {
  cidr?: string;
  tap?: string;
  mtu?: number;
}

/** Whether containers on the hub can reach the outside: the running egress, or why not (a typed error to surface). */
export type EgressStatus = { state: "on"; egress: Egress } | { state: "off"; error: EgressError };

/** A container's place on the hub. */
export interface ContainerNetwork {
  id: string;
  /** The netns file to join (OCI spec linux.namespaces[network].path). */
  netnsPath: string;
  ip: string;
  /** The container interface's MAC (the only source MAC its port may send; see SessionFirewall). */
  mac: string;
  /** The host-side veth in the hub netns: the container's bridge port. */
  hostVeth: string;
}

/** This engine's reference to the machine-wide hub network. */
export class HubNetwork {
  readonly netnsPath: string;
  readonly subnet: string;
  readonly gateway: string;
  readonly bridge = HUB_BRIDGE;
  readonly #paths: Paths;
  readonly #runner: ProcessRunner;
  readonly #env: NodeJS.ProcessEnv | undefined;
  readonly #plan: SubnetPlan;
  readonly #netns: NetnsFiles;
  readonly #cni: CniPlugins;
  readonly #bridgeList: CniConfigList;
  readonly #egressSettings: HubEgressSettings | undefined;
  #egress: EgressStatus = { state: "off", error: new EgressError("the hub is not attached") };
  #ref: HeldLock | undefined;

  private constructor(opts: HubOptions, plan: SubnetPlan, pluginDir: string) {
    this.#paths = opts.paths;
    this.#runner = opts.runner;
    this.#env = opts.env;
    this.#plan = plan;
    this.netnsPath = opts.paths.hubNetns;
    this.subnet = plan.cidr;
    this.gateway = plan.gateway;
    this.#netns = new NetnsFiles({ dir: opts.paths.netnsDir, runner: opts.runner, env: opts.env });
    this.#cni = new CniPlugins({ runner: opts.runner, dir: pluginDir, env: opts.env });
    this.#bridgeList = bridgeNetwork({ name: NETWORK_NAME, bridge: HUB_BRIDGE, plan, dataDir: opts.paths.ipamDir });
    const egress = opts.egress ?? true;
    this.#egressSettings = egress === false ? undefined : egress === true ? {} : { ...egress };
    // Bad egress settings fail the attach before anything is created.
    if (this.#egressSettings) planEgress({ ...this.#egressSettings, hubSubnet: plan.cidr });
  }

  /** Egress as of attach: on (with slirp's nameserver) or off with the reason; the hub works either way. */
  get egress(): EgressStatus {
    return this.#egress;
  }

  /** Nameservers for containers' resolv.conf (HostsStore.create's `nameservers`): slirp's DNS, none when egress is off. */
  get nameservers(): string[] {
    return this.#egress.state === "on" ? this.#egress.egress.nameservers : [];
  }

  /** Joins the hub (creating it when absent) and holds a shared reference to it until release(). */
  static async attach(opts: HubOptions): Promise<HubNetwork> {
    throwIfAborted(opts.signal);
    const plan = planSubnet(opts.subnet ?? DEFAULT_SUBNET);
    const hub = new HubNetwork(opts, plan, locateCniPlugins(opts.env ?? process.env));
    await withFileLock(opts.paths.hubSetupLock, hub.#lockOpts(opts.signal), () => hub.#join(opts.signal));
    return hub;
  }

  /** The netns file addContainer(id) creates (a spec may name it before it exists). */
  containerNetnsPath(id: string): string {
    validateContainerId(id);
    return this.#paths.containerNetns(id);
  }

  /**
   * A netns for the container, attached to the hub bridge with an address from IPAM (createContainerNetns, then
   * connectContainer); nothing is left on failure, and removeContainer undoes it.
   */
  async addContainer(id: string, opts: { signal?: AbortSignal } = {}): Promise<ContainerNetwork> {
    await this.createContainerNetns(id, opts);
    return this.connectContainer(id, opts);
  }

  /**
   * The first half of addContainer: the container's netns file, loopback up, not yet on the bridge (a task may be
   * created in it meanwhile). On failure nothing is left.
   */
  async createContainerNetns(id: string, opts: { signal?: AbortSignal } = {}): Promise<string> {
    validateContainerId(id);
    if (!this.#ref) throw new InternalError(`hub network released: cannot add container ${id}`);
    throwIfAborted(opts.signal);
    const netnsPath = this.#paths.containerNetns(id);
    await this.#netns.create(netnsPath, opts.signal, { loopbackUp: true });
    return netnsPath;
  }

  /** The second half: CNI ADD puts the netns on the hub bridge with a leased address. On failure nothing is left. */
  async connectContainer(id: string, opts: { signal?: AbortSignal } = {}): Promise<ContainerNetwork> {
    validateContainerId(id);
    const netnsPath = this.#paths.containerNetns(id);
    try {
      if (!this.#ref) throw new InternalError(`hub network released: cannot add container ${id}`);
      throwIfAborted(opts.signal);
      const stdout = await this.#cni.invoke({
        plugin: "bridge",
        command: "ADD",
        containerId: id,
        netns: netnsPath,
        ifname: CONTAINER_IFNAME,
        config: pluginStdin(this.#bridgeList),
        inNetns: this.netnsPath,
        signal: opts.signal,
      });
      const attached = resultAttachment(stdout, HUB_BRIDGE);
      if (!attached) {
        const message = `result lacks an IPv4 address, the interface's MAC or the host veth: ${stdout.trim()}`;
        throw new CniError({ plugin: "bridge", command: "ADD", containerId: id, message });
      }
      log("%s: attached at %s (%s, port %s)", id, attached.ip, netnsPath, attached.hostVeth);
      return { id, netnsPath, ...attached };
    } catch (err) {
      await this.removeContainer(id).catch((cleanupErr) => log("%s: cleanup after failed add: %s", id, String(cleanupErr)));
      throw err;
    }
  }

  /** CNI DEL (releasing the lease) and netns removal, from the id alone; idempotent, works without the hub too. */
  async removeContainer(id: string): Promise<void> {
    validateContainerId(id);
    const netnsPath = this.#paths.containerNetns(id);
    const [hubUp, netnsUp] = await Promise.all([this.#netns.isNetns(this.netnsPath), this.#netns.isNetns(netnsPath)]);
    const config = pluginStdin(this.#bridgeList);
    const common = { containerId: id, netns: netnsUp ? netnsPath : "", ifname: CONTAINER_IFNAME, config, command: "DEL" as const };
    // Without the hub the veth died with it: releasing the lease is all that is left (host-local needs no netns).
    const released = hubUp
      ? this.#cni.invoke({ ...common, plugin: "bridge", inNetns: this.netnsPath })
      : this.#cni.invoke({ ...common, plugin: "host-local" });
    // The netns goes even when DEL failed; a kept lease still lists the id, so a later remove retries the DEL.
    const outcome = await released.then(() => undefined, (err: unknown) => err);
    await this.#netns.remove(netnsPath);
    if (outcome !== undefined) throw outcome;
    log("%s: removed", id);
  }

  /** Ids that have a netns file or an IP lease. */
  async listContainers(): Promise<string[]> {
    const ids = new Set<string>();
    for (const name of await this.#netns.names()) {
      if (name.startsWith(NETNS_PREFIX)) ids.add(name.slice(NETNS_PREFIX.length));
    }
    for (const lease of await listLeases(this.#leaseDir)) ids.add(lease.containerId);
    return [...ids].sort();
  }

  /** How many reserved addresses there are (valid n for reservedAddress). */
  get reservedCount(): number {
    return this.#plan.reservedCount;
  }

  /** The n-th (0-based) address of the reserved sub-range, never handed out by IPAM (host-service listeners). */
  reservedAddress(n: number): string {
    return reservedAddressOf(this.#plan, n);
  }

  /** Drops this engine's reference; the last holder reaps what is left and removes the hub. Idempotent. */
  async release(): Promise<void> {
    const ref = this.#ref;
    if (!ref) return;
    this.#ref = undefined;
    ref.release();
    await withFileLock(this.#paths.hubSetupLock, this.#lockOpts(), async () => {
      const alone = await tryAcquireFileLock(this.#paths.hubLock, this.#lockOpts());
      if (!alone) return;
      try {
        await this.#teardown();
      } finally {
        alone.release();
      }
    });
  }

  get #leaseDir(): string {
    return join(this.#paths.ipamDir, NETWORK_NAME);
  }

  #lockOpts(signal?: AbortSignal) {
    return { runner: this.#runner, env: this.#env, signal };
  }

  /** Under the setup lock: make sure the hub exists for our subnet, reap orphans when alone, take our reference. */
  async #join(signal?: AbortSignal): Promise<void> {
    await ensurePrivateDir(this.#paths, this.#paths.netnsDir);
    await this.#netns.preparePrivateDir(signal);
    const alone = await tryAcquireFileLock(this.#paths.hubLock, this.#lockOpts(signal));
    try {
      let present = await this.#netns.isNetns(this.netnsPath);
      const stored = await this.#storedSubnet();
      if (alone) {
        await this.#reapAll();
        if (present && stored !== this.subnet) {
          log("hub: replacing the unused hub of subnet %s with %s", stored, this.subnet);
          await Egress.stop({ paths: this.#paths });
          await this.#netns.remove(this.netnsPath);
          present = false;
        }
      } else if (stored !== undefined && stored !== this.subnet) {
        throw new InvalidArgumentError(`the hub network in use has subnet ${stored}, not ${this.subnet}`);
      }
      if (!present) {
        await this.#netns.remove(this.netnsPath); // a stale file from a crash mid-create
        await this.#netns.create(this.netnsPath, signal);
        log("hub: created %s", this.netnsPath);
      } else if (alone) {
        // No engine is attached: whatever the session firewall still holds belongs to dead engines.
        await SessionFirewall.reset(this.netnsPath, this.#runner);
      }
      await this.#ensureBridge(signal);
      await ensurePrivateDir(this.#paths, this.#paths.cniConfigDir);
      await ensurePrivateDir(this.#paths, this.#paths.ipamDir);
      await writeFile(this.#paths.cniNetworkConfig, JSON.stringify(this.#bridgeList, null, 2) + "\n");
      this.#egress = await this.#ensureEgress(signal);
    } finally {
      alone?.release();
    }
    // Still under the setup lock: nobody can tear the hub down between the checks above and this reference.
    this.#ref = await acquireFileLock(this.#paths.hubLock, { ...this.#lockOpts(signal), shared: true });
  }

  /** Under the setup lock: the hub's egress running (or found running), or why it is off. Cancellation propagates. */
  async #ensureEgress(signal?: AbortSignal): Promise<EgressStatus> {
    const ctx = { paths: this.#paths, runner: this.#runner, env: this.#env, hubNetns: this.netnsPath, hubSubnet: this.subnet, bridge: HUB_BRIDGE };
    try {
      if (!this.#egressSettings) {
        const running = await Egress.find(ctx);
        return running ? { state: "on", egress: running } : { state: "off", error: new EgressError("disabled by the engine's options (egress: false)") };
      }
      return { state: "on", egress: await Egress.ensure({ ...ctx, ...this.#egressSettings, signal }) };
    } catch (err) {
      if (!(err instanceof EgressError)) throw err;
      log("hub: %s", err.message);
      return { state: "off", error: err };
    }
  }

  /**
   * The bridge with the gateway address, up, and `lo` up, inside the hub netns. The bridge never learns source MACs
   * from link-local group frames (LLDP and the like skip the prerouting filter), and runs no STP. Its MAC is set
   * (bridgeMac): a bridge left to itself takes its lowest port's MAC and changes it as ports come and go, which
   * flushes the hub's neighbour table and leaves every container's ARP entry for the gateway pointing nowhere.
   */
  async #ensureBridge(signal?: AbortSignal): Promise<void> {
    const inHub = ["--net=" + this.netnsPath, "--", "ip"];
    const show = await this.#runner.run("nsenter", [...inHub, "-d", "-o", "-force", "-batch", "-"], {
      env: this.#env,
      signal,
      input: `link show dev ${HUB_BRIDGE}\naddr show dev ${HUB_BRIDGE}\n`,
    });
    const address = `${this.gateway}/${this.#plan.prefix}`;
    const exists = /^\d+: /.test(show.stdout);
    const mac = bridgeMac(this.gateway);
    if (exists && show.stdout.includes(` ${address} `) && show.stdout.includes("no_linklocal_learn 1") && show.stdout.includes(`link/ether ${mac} `)) return;
    const options = "stp_state 0 no_linklocal_learn 1";
    const batch = [
      "link set lo up",
      exists ? `link set ${HUB_BRIDGE} address ${mac} type bridge ${options}` : `link add ${HUB_BRIDGE} address ${mac} type bridge ${options}`,
      `addr replace ${address} dev ${HUB_BRIDGE}`,
      `link set ${HUB_BRIDGE} up`,
    ];
    await runChecked(this.#runner, "nsenter", [...inHub, "-batch", "-"], { env: this.#env, signal, input: batch.join("\n") + "\n" });
    log("hub: bridge %s at %s", HUB_BRIDGE, address);
  }

  async #storedSubnet(): Promise<string | undefined> {
    try {
      return subnetOfConfig(JSON.parse(await readFile(this.#paths.cniNetworkConfig, "utf8")));
    } catch {
      return undefined;
    }
  }

  /** Removes every container netns and lease: only called when no engine is attached, so all are orphans. */
  async #reapAll(): Promise<void> {
    for (const id of await this.listContainers()) {
      log("%s: reaping orphan", id);
      // One broken leftover must not keep the hub from being created or torn down; the next reap retries it.
      await this.removeContainer(id).catch((err) => log("%s: reaping failed: %s", id, String(err)));
    }
  }

  /** The last one out: orphans, the hub netns (its bridge goes with it), the configs, the lease dir, the mount. */
  async #teardown(): Promise<void> {
    await this.#reapAll();
    await Egress.stop({ paths: this.#paths });
    await this.#netns.remove(this.netnsPath);
    await rm(this.#paths.cniNetworkConfig, { force: true });
    await rm(this.#paths.cniLoopbackConfig, { force: true }); // written by earlier versions
    await rm(this.#leaseDir, { recursive: true, force: true });
    await this.#netns.releasePrivateDir();
    log("hub: torn down");
  }
}
