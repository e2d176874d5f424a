// The hub's session-isolation ruleset as nft script lines, pure (SessionFirewall runs them in the hub netns). Every
// value that reaches a line is checked here first: session keys, veth names, MACs and IPv4 addresses.
//
// table bridge svcd — ports are keyed by ifindex (`iif`/`oif`, type iface_index): the kernel hands ifindexes out
// cyclically and never reuses one soon, so an element a crashed engine left for a dead port can match nothing.
//   set mac  { iface_index . ether_addr }  a port's own MAC       set addr { iface_index . ipv4_addr }  its address
//   map port { iface_index : verdict }     port → jump f_<s>      map dest { ipv4_addr : verdict }      → jump i_<s>
//   per session s: set p_<s> { iface_index } (its ports), chain f_<s> { oif @p_<s> accept; drop },
//                  chain i_<s> { iif @p_<s> accept; drop }
//   chain guard: IPv4 whose iif . ether saddr is in @mac and iif . ip saddr in @addr returns; ARP (Ethernet/IPv4
//     only) likewise for the frame's source, the ARP sender MAC and sender IP; everything else (IPv6, VLAN tags,
//     any other ethertype, a port not admitted yet, a changed MAC, a borrowed address, gratuitous ARP for another
//     address, probes from 0.0.0.0) drops.
//   prerouting: jump guard — before the bridge learns the source MAC, so a spoofed frame cannot poison the FDB.
//   forward (per output port, floods and multicast included): iif vmap @port, else drop — a frame leaves only
//     through ports of its sender's session, whatever its protocol or destination.
//   input (frames to the hub's own addresses: gateway, host-service listeners): jump guard (link-local group
//     frames reach it without prerouting), then ip daddr / arp daddr ip vmap @dest — a session's guarded address is
//     reached, and ARP-resolved, only from that session's ports; the gateway stays open for egress.
//   output: the hub's ARP requests go only to the port that owns the asked-for address (no address leaks by flood).
// All base chains run at priority filter (-200), before br_netfilter's hooks, which would otherwise divert IPv4
// past same-priority chains. A declaration is add + flush + rules, so running it again is idempotent and heals a
// partial table (SessionFirewall sends it with the first admit, and again whenever something is missing).
import { isIP } from "node:net";
import { InvalidArgumentError } from "../../common/errors.js";

export const TABLE = "svcd";
const T = `bridge ${TABLE}`;
const SESSION_KEY = /^[0-9a-v]{13}$/;
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** A container's bridge port as the hub's filters know it. */
export interface FirewallPort {
  /** The host-side veth in the hub netns. */
  hostVeth: string;
  /** The container interface's MAC: the only source MAC the port may send. */
  mac: string;
  /** The container's IPv4 address: the only source address the port may send. */
  ip: string;
}

export function checkSessionKey(key: string): void {
  if (!SESSION_KEY.test(key)) throw new InvalidArgumentError(`invalid session key ${JSON.stringify(key)}: expected 13 characters of 0-9a-v`);
}

export function checkIpv4(ip: string): void {
  if (typeof ip !== "string" || isIP(ip) !== 4) throw new InvalidArgumentError(`not an IPv4 address: ${JSON.stringify(ip)}`);
}

export function checkPort(port: FirewallPort): void {
  if (typeof port.hostVeth !== "string" || !IFNAME.test(port.hostVeth)) {
    throw new InvalidArgumentError(`not an interface name: ${JSON.stringify(port.hostVeth)}`);
  }
  const first = typeof port.mac === "string" && MAC.test(port.mac) ? parseInt(port.mac.slice(0, 2), 16) : 1;
  // A port sends from one unicast MAC: a group bit set (or all zeros) is never a container's address.
  if ((first & 1) === 1 || port.mac === "00:00:00:00:00:00") {
    throw new InvalidArgumentError(`not a unicast MAC in lowercase hex: ${JSON.stringify(port.mac)}`);
  }
  checkIpv4(port.ip);
}

const chainF = (key: string) => `f_${key}`;
const chainI = (key: string) => `i_${key}`;
const setP = (key: string) => `p_${key}`;

/** The table, its global sets and maps and its base chains; safe to run again. */
export function declareBaseScript(): string[] {
  const arp = "ether type arp arp htype 1 arp ptype ip arp hlen 6 arp plen 4";
  return [
    `add table ${T}`,
    `add set ${T} mac { type iface_index . ether_addr ; }`,
    `add set ${T} addr { type iface_index . ipv4_addr ; }`,
    `add map ${T} port { type iface_index : verdict ; }`,
    `add map ${T} dest { type ipv4_addr : verdict ; }`,
    ...chain("guard", undefined, [
      "ether type ip iif . ether saddr @mac iif . ip saddr @addr return",
      `${arp} iif . ether saddr @mac iif . arp saddr ether @mac iif . arp saddr ip @addr return`,
      "counter drop",
    ]),
    ...chain("prerouting", "prerouting", ["jump guard"], "accept"),
    ...chain("forward", "forward", ["iif vmap @port"], "drop"),
    ...chain("input", "input", ["jump guard", "ip daddr vmap @dest", "arp daddr ip vmap @dest"], "accept"),
    ...chain("output", "output", ["arp operation request oif . arp daddr ip != @addr drop"], "accept"),
  ];
}

/** Session `key`'s port set and its two chains (the table must exist); safe to run again. */
export function declareSessionScript(key: string): string[] {
  checkSessionKey(key);
  return [
    `add set ${T} ${setP(key)} { type iface_index ; }`,
    ...chain(chainF(key), undefined, [`oif @${setP(key)} accept`, "drop"]),
    ...chain(chainI(key), undefined, [`iif @${setP(key)} accept`, "drop"]),
  ];
}

/** Everything session `key` needs, from nothing. */
export function declareScript(key: string): string[] {
  return [...declareBaseScript(), ...declareSessionScript(key)];
}

/** A chain declared and given exactly `rules` (flush first: nft has no idempotent `add rule`). */
function chain(name: string, hook: string | undefined, rules: string[], policy?: "accept" | "drop"): string[] {
  const spec = hook ? ` { type filter hook ${hook} priority filter ; policy ${policy ?? "accept"} ; }` : "";
  return [`add chain ${T} ${name}${spec}`, `flush chain ${T} ${name}`, ...rules.map((r) => `add rule ${T} ${name} ${r}`)];
}

/** The elements that admit a container's port to session `key`. */
export function portElements(key: string, port: FirewallPort): string[] {
  checkSessionKey(key);
  checkPort(port);
  const dev = `"${port.hostVeth}"`;
  return [
    `element ${T} mac { ${dev} . ${port.mac} }`,
    `element ${T} addr { ${dev} . ${port.ip} }`,
    `element ${T} ${setP(key)} { ${dev} }`,
    `element ${T} port { ${dev} : jump ${chainF(key)} }`,
    `element ${T} dest { ${port.ip} : jump ${chainI(key)} }`,
  ];
}

/** The element that guards one of the hub's own addresses (a host-service listener) for session `key`. */
export function addressElements(key: string, ip: string): string[] {
  checkSessionKey(key);
  checkIpv4(ip);
  return [`element ${T} dest { ${ip} : jump ${chainI(key)} }`];
}

/** `add …` lines for elements from portElements/addressElements. */
export const adding = (elements: string[]) => elements.map((e) => `add ${e}`);

/** `delete …` lines; map elements are deleted by key alone. */
export const deleting = (elements: string[]) => elements.map((e) => `delete ${e.replace(/ : jump \S+ \}$/, " }")}`);

/** Removes session `key`'s set and chains (fails while any element still jumps to them: they are in use). */
export function dropSessionScript(key: string): string[] {
  checkSessionKey(key);
  return [`delete chain ${T} ${chainF(key)}`, `delete chain ${T} ${chainI(key)}`, `delete set ${T} ${setP(key)}`];
}

/** The stale `dest` entry a crashed engine may have left for `ip`, to replace. */
export function staleDest(ip: string): string {
  checkIpv4(ip);
  return `delete element ${T} dest { ${ip} }`;
}

/** Removes the whole table (when no engine is attached, everything in it is an orphan). */
export function resetScript(): string[] {
  return [`add table ${T}`, `delete table ${T}`];
}
