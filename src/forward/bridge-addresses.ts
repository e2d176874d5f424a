// The host-service addresses this engine put on the hub bridge, reference-counted: several host services (one per
// port) may share an address; the first adds it, the last close removes it. The engine runs `ip` through its
// ProcessRunner inside the hub netns (`nsenter --net=<hub> -- ip …`) rather than the agent doing it, so an address
// outlives an agent crash only until its forward's handle is dropped — the engine still knows it and removes it.
//
// Addresses are host routes (/32, /128 for IPv6 with nodad): no prefix route is added beside the bridge's own, and
// containers on the bridge reach them by ARP/ND on the bridge like its gateway address. Adding is idempotent (`ip
// addr replace`), so an address a killed engine left behind is simply adopted. Which address a host service gets is
// the caller's choice (HubNetwork.reservedAddress(n)); engines sharing the hub must not pick the same one.
import { isIP } from "node:net";
import { EngineUnavailableError, InvalidArgumentError } from "../common/errors.js";
import { debug } from "../common/debug.js";
import type { ProcessRunner } from "../common/process-runner.js";

const log = debug("forward");

/** What BridgeAddresses needs to reach the bridge. */
export interface BridgeAddressOptions {
  runner: ProcessRunner;
  /** The hub netns file. */
  netns: string;
  /** The bridge (or, in tests, any interface) the addresses go on. */
  device: string;
  env?: NodeJS.ProcessEnv;
}

/** Interface names as the kernel accepts them: 1…15 characters, no '/', whitespace or ':'. */
export function checkDeviceName(device: unknown): asserts device is string {
  if (typeof device !== "string" || !/^[A-Za-z0-9_.-]{1,15}$/.test(device)) {
    throw new InvalidArgumentError(`not a network interface name: ${JSON.stringify(device)}`);
  }
}

/** Reference-counted addresses on one interface in the hub netns. */
export class BridgeAddresses {
  private readonly counts = new Map<string, number>();
  /** Per address, the last add/remove in flight: operations on one address run in order. */
  private readonly chains = new Map<string, Promise<void>>();

  constructor(private readonly opts: BridgeAddressOptions) {
    checkDeviceName(opts.device);
  }

  /** Adds address to the device unless this engine holds it already; counts one more holder. */
  acquire(address: string): Promise<void> {
    return this.serial(address, async () => {
      const n = this.counts.get(address) ?? 0;
      if (n === 0) await this.ip(["addr", "replace", ...this.spec(address)]);
      this.counts.set(address, n + 1);
    });
  }

  /** Drops one holder; the last one removes the address from the device (gone already is fine). */
  release(address: string): Promise<void> {
    return this.serial(address, async () => {
      const n = this.counts.get(address) ?? 0;
      if (n === 0) return;
      if (n > 1) return void this.counts.set(address, n - 1);
      this.counts.delete(address);
      try {
        await this.ip(["addr", "del", ...this.spec(address).slice(0, 3)]);
      } catch (err) {
        if (await this.present(address)) throw err;
      }
    });
  }

  /** Removes every address this engine still holds. */
  async releaseAll(): Promise<void> {
    const held = [...this.counts.keys()];
    for (const a of held) this.counts.set(a, 1);
    await Promise.all(held.map((a) => this.release(a)));
  }

  /** Addresses currently held, for tests and debug lines. */
  held(): string[] {
    return [...this.counts.keys()];
  }

  /** True when address is on the device (asked from the kernel). */
  async present(address: string): Promise<boolean> {
    const family = isIP(address) === 6 ? "-6" : "-4";
    const out = await this.ip([family, "-o", "addr", "show", "dev", this.opts.device]);
    return out.split("\n").some((line) => line.split(/\s+/).some((word) => word.split("/")[0] === address));
  }

  private spec(address: string): string[] {
    const v6 = isIP(address) === 6;
    if (isIP(address) === 0) throw new InvalidArgumentError(`not an IP address: ${JSON.stringify(address)}`);
    return [v6 ? `${address}/128` : `${address}/32`, "dev", this.opts.device, ...(v6 ? ["nodad"] : [])];
  }

  private serial(address: string, op: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(address) ?? Promise.resolve()).then(op);
    const settled = next.then(() => undefined, () => undefined);
    this.chains.set(address, settled);
    void settled.then(() => {
      if (this.chains.get(address) === settled) this.chains.delete(address);
    });
    return next;
  }

  private async ip(args: string[]): Promise<string> {
    const argv = [`--net=${this.opts.netns}`, "--", "ip", ...args];
    const r = await this.opts.runner.run("nsenter", argv, { env: this.opts.env, timeoutMs: 10_000 });
    if (r.exitCode !== 0) {
      throw new EngineUnavailableError(`ip ${args.join(" ")} in ${this.opts.netns} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
    }
    log("ip %s in %s", args.join(" "), this.opts.netns);
    return r.stdout;
  }
}
