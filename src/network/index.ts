// The network layer's public door: the hub network and container netns (CNI), egress (slirp4netns), and the
// per-container hosts store.
export {
  HubNetwork,
  DEFAULT_SUBNET,
  HUB_BRIDGE,
  type HubOptions,
  type ContainerNetwork,
  type EgressStatus,
  type HubEgressSettings,
} from "./hub/hub-network.js";
export { Egress, type EgressContext, type EgressOptions } from "./egress/egress.js";
export { EgressError, TUN_DEVICE, tunUnusableReason } from "./egress/egress-error.js";
export { DEFAULT_EGRESS_CIDR, planEgress, type EgressPlan } from "./egress/egress-plan.js";
export { CniError } from "./cni/cni-error.js";
export { SessionFirewall, type FirewallPort } from "./hub/session-firewall.js";
export { allocateReservedAddress, type ReservedAddress } from "./hub/reserved-addresses.js";
export { HostsStore, type HostsFiles, type HostsRecord } from "./hosts/hosts-store.js";
export { renderHostsFile, replaceManagedBlock, type HostsEntry } from "./hosts/hosts-file.js";
export { isDnsName, validateDnsName, validateIp } from "./hosts/host-names.js";
export { isContainerId, validateContainerId } from "./container-id.js";
export { listLeases, type IpLease } from "./ipam-leases.js";
export { locateCniPlugins, CNI_PLUGIN_DIRS } from "./cni/cni-plugins.js";
