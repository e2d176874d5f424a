// The hub's CNI network configurations, pure: a `bridge` network whose `host-local` IPAM keeps its leases under
// Paths and never hands out the reserved sub-range.
//
// No iptables anywhere (ipMasq false): the bridge lives in the private hub netns, and the host gets no bridge,
// veth or route. hairpinMode lets a container reach itself through its own service address.
import type { SubnetPlan } from "../subnet.js";

/** The CNI spec version our configs declare (Debian's plugins 1.1.x support up to 1.0.0). */
export const CNI_VERSION = "1.0.0";

/** One plugin's entry in a config list (plugin-specific keys beside `type`). */
export interface CniPluginConfig {
  type: string;
  [key: string]: unknown;
}

/** A CNI network configuration list, as written to disk. */
export interface CniConfigList {
  cniVersion: string;
  name: string;
  plugins: CniPluginConfig[];
}

export interface BridgeNetworkOptions {
  /** The network's name: host-local keeps its leases in `<dataDir>/<name>/`. */
  name: string;
  bridge: string;
  plan: SubnetPlan;
  /** host-local's lease directory (under Paths.ipamDir). */
  dataDir: string;
}

/** The bridge + host-local network of the hub. */
export function bridgeNetwork(opts: BridgeNetworkOptions): CniConfigList {
  return {
    cniVersion: CNI_VERSION,
    name: opts.name,
    plugins: [
      {
        type: "bridge",
        bridge: opts.bridge,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: "host-local",
          dataDir: opts.dataDir,
          ranges: [
            [
              {
                subnet: opts.plan.cidr,
                rangeStart: opts.plan.rangeStart,
                rangeEnd: opts.plan.rangeEnd,
                gateway: opts.plan.gateway,
              },
            ],
          ],
          routes: [{ dst: "0.0.0.0/0" }],
        },
      },
    ],
  };
}

/** What a single plugin of a list reads on stdin: the list's version and name merged into its own entry. */
export function pluginStdin(list: CniConfigList, index = 0): string {
  const plugin = list.plugins[index];
  if (!plugin) throw new RangeError(`config list ${list.name} has no plugin #${index}`);
  return JSON.stringify({ cniVersion: list.cniVersion, name: list.name, ...plugin });
}

/** The subnet a stored bridge config list serves, or undefined when it is not one of ours. */
export function subnetOfConfig(list: unknown): string | undefined {
  const plugins = (list as { plugins?: unknown } | null)?.plugins;
  if (!Array.isArray(plugins)) return undefined;
  const ranges = (plugins[0] as { ipam?: { ranges?: unknown } } | undefined)?.ipam?.ranges;
  const first = Array.isArray(ranges) && Array.isArray(ranges[0]) ? (ranges[0][0] as { subnet?: unknown }) : undefined;
  return typeof first?.subnet === "string" ? first.subnet : undefined;
}
