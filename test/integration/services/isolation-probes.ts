// Reusable isolation probes over a Container: what a container of one session tries against another session's
// service, and whether its own binding still answers. Run from a default container, the spoofing steps are refused
// by the kernel (no NET_ADMIN/NET_RAW) and reported as "failed"; from a container with insecureRootCapabilities
// they run, and every probe after them must still be "blocked". Output: one "<probe> <outcome>" line each.
// Bounds use `timeout N wget`: busybox-static's `wget -T` segfaults (exit 139), which would read as "blocked".
import type { Container, WithExecOptions } from "../../../src/index.js";

/** What the prober knows of its target (learnt from the hub side, never from the prober's own view). */
export interface IsolationTarget {
  /** The target service's IPv4 address, port and IPv6 link-local address (IPv6 turned on in its netns). */
  ipv4: string;
  port: number;
  linkLocal: string;
  /** The target's MAC, for the changed-MAC probe. */
  mac: string;
  /** Another session's address to send from (the IP-spoofing probe). */
  otherIp: string;
  /** The prober's own binding, which must keep working: an alias and port. */
  own: { alias: string; port: number };
}

export type ProbeOutcomes = Record<string, string>;

/** The probes that must all come out "blocked" (the rest: "own" is "reached", actions "ok" or "failed"). */
export const REACH_PROBES = ["ipv4", "ping4", "ipv6-ll", "ping6-ll", "ping6-ff02", "ipv4-changed-mac", "ping-from-other-ip", "ipv4-after-garp"];

/**
 * The prober with the probe script as its exec (`options` passed to withExec, e.g. insecureRootCapabilities). It first
 * waits (up to 10 s) for a usable link-local address on its eth0 ("ipv6-on"): a privileged prober turns IPv6 on
 * itself (remounting the read-only /proc/sys), a default one needs the test to do it from the hub side.
 */
export function isolationProbe(prober: Container, t: IsolationTarget, options: WithExecOptions = {}): Container {
  const ll = `${t.linkLocal}%eth0`;
  const script = [
    "mount -o remount,rw /proc/sys 2>/dev/null",
    "sysctl -q -w net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.eth0.accept_dad=0 net.ipv6.conf.eth0.disable_ipv6=0 2>/dev/null",
    'll() { ip -6 addr show dev eth0 | grep fe80 | grep -qv tentative; }',
    "i=0; until ll || [ $i -ge 100 ]; do sleep 0.1; i=$((i+1)); done",
    'reach() { name=$1; shift; if "$@" >/dev/null 2>&1; then echo "$name reached"; else echo "$name blocked"; fi; }',
    'act() { name=$1; shift; if "$@" >/dev/null 2>&1; then echo "$name ok"; else echo "$name failed"; fi; }',
    "act ipv6-on ll",
    `reach own timeout 3 wget -qO- http://${t.own.alias}:${t.own.port}/`,
    `reach ipv4 timeout 2 wget -qO- http://${t.ipv4}:${t.port}/`,
    `reach ping4 ping -c 1 -W 2 ${t.ipv4}`,
    `reach ipv6-ll timeout 2 wget -qO- "http://[${ll}]:${t.port}/"`,
    `reach ping6-ll ping6 -c 1 -W 2 ${ll}`,
    // Multicast echo: replies come from every host that got it; one from the target is a reach.
    `if ping6 -c 2 -W 2 ff02::1%eth0 2>/dev/null | grep -q "from ${t.linkLocal}"; then echo "ping6-ff02 reached"; else echo "ping6-ff02 blocked"; fi`,
    "own_mac=$(cat /sys/class/net/eth0/address)",
    `act change-mac ip link set dev eth0 address ${t.mac}`,
    `reach ipv4-changed-mac timeout 2 wget -qO- http://${t.ipv4}:${t.port}/`,
    'ip link set dev eth0 address "$own_mac" 2>/dev/null',
    `act add-other-ip ip addr add ${t.otherIp}/32 dev eth0`,
    `reach ping-from-other-ip ping -c 1 -W 2 -I ${t.otherIp} ${t.ipv4}`,
    `ip addr del ${t.otherIp}/32 dev eth0 2>/dev/null`,
    // Gratuitous ARP claiming the target's address, then a fresh try to reach it.
    `ip addr add ${t.ipv4}/32 dev eth0 2>/dev/null`,
    `act garp arping -U -c 1 -I eth0 -s ${t.ipv4} ${t.ipv4}`,
    `ip addr del ${t.ipv4}/32 dev eth0 2>/dev/null`,
    `reach ipv4-after-garp timeout 2 wget -qO- http://${t.ipv4}:${t.port}/`,
    `reach own-after timeout 3 wget -qO- http://${t.own.alias}:${t.own.port}/`,
  ].join("\n");
  return prober.withExec(["sh", "-c", script], options);
}

/** Runs the probes and parses their lines. */
export async function runIsolationProbe(prober: Container, t: IsolationTarget, options: WithExecOptions = {}): Promise<ProbeOutcomes> {
  const out = await isolationProbe(prober, t, options).stdout();
  const outcomes: ProbeOutcomes = {};
  for (const line of out.split("\n").filter(Boolean)) {
    const [name, outcome] = line.split(" ");
    if (name && outcome) outcomes[name] = outcome;
  }
  return outcomes;
}
