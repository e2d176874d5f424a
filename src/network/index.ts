// The network layer's public door: the hub network and container netns (CNI), and the per-container hosts store.
export { HubNetwork, DEFAULT_SUBNET, HUB_BRIDGE, type HubOptions, type ContainerNetwork } from "./hub/hub-network.js";
export { CniError } from "./cni/cni-error.js";
export { SessionFirewall } from "./hub/session-firewall.js";
export { HostsStore, type HostsFiles, type HostsRecord } from "./hosts/hosts-store.js";
export { renderHostsFile, replaceManagedBlock, type HostsEntry } from "./hosts/hosts-file.js";
export { isDnsName, validateDnsName, validateIp } from "./hosts/host-names.js";
export { isContainerId, validateContainerId } from "./container-id.js";
export { listLeases, type IpLease } from "./ipam-leases.js";
