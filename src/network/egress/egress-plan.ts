// What egress looks like for one hub, pure: slirp4netns's addresses for a CIDR, its argv, and the nftables ruleset
// that lets containers out through its tap device. No I/O here; egress.ts runs what these functions describe.
//
// slirp4netns (1.2.0) with `--cidr N/p` puts the tap at N+100, the host-side gateway at N+2 (which reaches the host's
// loopback unless --disable-host-loopback) and its DNS forwarder at N+3. It NATs only traffic FROM the tap's own
// address, so the hub masquerades container sources out of the tap; see natRuleset for the rest.
import { InvalidArgumentError } from "../../common/errors.js";
import { formatIPv4, parseIPv4, planSubnet } from "../subnet.js";

/** slirp4netns's default network; it cannot collide with the hub's default 10.87.0.0/16. */
export const DEFAULT_EGRESS_CIDR = "10.0.2.0/24";
/** The tap device slirp4netns creates inside the hub netns. */
export const DEFAULT_TAP = "tap0";
/** slirp4netns's largest useful MTU (its maximum is 65521); large segments make user-mode NAT much cheaper. */
export const DEFAULT_MTU = 65520;
/** The nftables table (family ip) in the HUB netns holding egress NAT and its forward guard; never the host's. */
export const NAT_TABLE = "svcd-nat";

const TAP_NAME = /^[a-z][a-z0-9]{0,14}$/;

/** The settings one slirp4netns instance runs with (what its pid record stores). */
export interface EgressSettings {
  /** slirp's own network, e.g. "10.0.2.0/24". */
  cidr: string;
  tap: string;
  mtu: number;
}

/** Validated egress settings and the addresses slirp4netns derives from them. */
export interface EgressPlan extends EgressSettings {
  /** The tap's address inside the hub netns (N+100). */
  tapAddress: string;
  /** slirp's gateway (N+2): the host, but never the host's loopback with --disable-host-loopback. */
  gateway: string;
  /** slirp's DNS forwarder (N+3): what containers' resolv.conf names. */
  nameserver: string;
}

export interface EgressPlanInput {
  /** slirp's network; default 10.0.2.0/24. Prefix 8…25 (slirp needs N+100). */
  cidr?: string;
  /** The hub's container subnet: slirp's network must not overlap it. */
  hubSubnet: string;
  /** The tap device's name in the hub netns; default tap0. */
  tap?: string;
  /** The tap's MTU, 1280…65521; default 65520. */
  mtu?: number;
}

/** Validates the inputs and derives slirp's addresses; InvalidArgumentError for a bad or colliding CIDR. */
export function planEgress(input: EgressPlanInput): EgressPlan {
  const cidr = input.cidr ?? DEFAULT_EGRESS_CIDR;
  const tap = input.tap ?? DEFAULT_TAP;
  const mtu = input.mtu ?? DEFAULT_MTU;
  if (typeof tap !== "string" || !TAP_NAME.test(tap)) {
    throw new InvalidArgumentError(`egress tap device name ${JSON.stringify(tap)} must match ${TAP_NAME}`);
  }
  if (!Number.isInteger(mtu) || mtu < 1280 || mtu > 65521) {
    throw new InvalidArgumentError(`egress MTU ${mtu} must be an integer between 1280 and 65521`);
  }
  const own = parseCidr(cidr, "egress CIDR");
  if (own.prefix > 25) throw new InvalidArgumentError(`egress CIDR ${cidr}: prefix must be at most 25 (slirp4netns uses its .100)`);
  const hub = parseCidr(planSubnet(input.hubSubnet).cidr, "hub subnet");
  if (overlaps(own, hub)) {
    throw new InvalidArgumentError(`egress CIDR ${cidr} overlaps the hub subnet ${input.hubSubnet}: pick another --cidr for slirp4netns`);
  }
  return {
    cidr: `${formatIPv4(own.base)}/${own.prefix}`,
    tap,
    mtu,
    tapAddress: formatIPv4(own.base + 100),
    gateway: formatIPv4(own.base + 2),
    nameserver: formatIPv4(own.base + 3),
  };
}

/**
 * slirp4netns's argv: join the netns at `netnsPath` by path, configure the tap (address, route, lo up), refuse the
 * host's loopback, and write to `readyFd` once configured. No --exit-fd on purpose: the process outlives the engine
 * that started it (the hub is machine-wide); the last engine out stops it through its pid record.
 */
export function slirpArgs(plan: EgressSettings, netnsPath: string, readyFd: number): string[] {
  return [
    "--configure",
    `--mtu=${plan.mtu}`,
    "--disable-host-loopback",
    `--cidr=${plan.cidr}`,
    "--netns-type=path",
    `--ready-fd=${readyFd}`,
    netnsPath,
    plan.tap,
  ];
}

/**
 * One atomic `nft -f -` script (re)creating table ip svcd-nat in the hub netns:
 * - postrouting (nat): container sources leaving through the tap are masqueraded to the tap's address, the only
 *   source slirp translates;
 * - forward (filter): from the tap only replies come in (slirp never originates, but a hub route must not become
 *   a door), and nothing is routed from the bridge back onto the bridge — the session firewall (table bridge svcd)
 *   sees only bridged frames, so a container using the gateway to hairpin into another session must be dropped here.
 */
export function natRuleset(plan: EgressSettings, hubSubnet: string, bridge: string): string {
  const subnet = planSubnet(hubSubnet).cidr;
  if (!TAP_NAME.test(bridge)) throw new InvalidArgumentError(`bridge name ${JSON.stringify(bridge)} must match ${TAP_NAME}`);
  const t = `ip ${NAT_TABLE}`;
  return [
    `add table ${t}`,
    `delete table ${t}`,
    `add table ${t}`,
    `add chain ${t} postrouting { type nat hook postrouting priority srcnat ; policy accept ; }`,
    `add rule ${t} postrouting oifname "${plan.tap}" ip saddr ${subnet} masquerade`,
    `add chain ${t} forward { type filter hook forward priority filter ; policy accept ; }`,
    `add rule ${t} forward iifname "${plan.tap}" ct state established,related accept`,
    `add rule ${t} forward iifname "${plan.tap}" drop`,
    `add rule ${t} forward iifname "${bridge}" oifname "${bridge}" drop`,
    "",
  ].join("\n");
}

/**
 * Per-netns sysctls for the hub (`sysctl -e -w` arguments): IPv4 forwarding on; bridged IPv4 frames kept out of the
 * ip-family hooks (where br_netfilter is built in, they would otherwise meet the forward guard above as if routed).
 */
export const HUB_SYSCTLS: readonly string[] = ["net.ipv4.ip_forward=1", "net.bridge.bridge-nf-call-iptables=0"];

/** The `nameserver` lines' addresses for containers when egress is on. */
export function nameserversOf(plan: Pick<EgressPlan, "nameserver">): string[] {
  return [plan.nameserver];
}

interface Cidr {
  base: number;
  prefix: number;
  size: number;
}

function parseCidr(text: unknown, what: string): Cidr {
  const match = typeof text === "string" ? /^([0-9.]+)\/([0-9]{1,2})$/.exec(text) : null;
  const base = match ? parseIPv4(match[1]!) : undefined;
  const prefix = match ? Number(match[2]) : NaN;
  if (base === undefined || !Number.isInteger(prefix) || prefix < 8 || prefix > 30) {
    throw new InvalidArgumentError(`${what} ${JSON.stringify(text)} is not an IPv4 CIDR like 10.0.2.0/24`);
  }
  const size = 2 ** (32 - prefix);
  if (base % size !== 0) throw new InvalidArgumentError(`${what} ${text} has host bits set`);
  return { base, prefix, size };
}

function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + b.size && b.base < a.base + a.size;
}
