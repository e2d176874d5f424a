// The network layer's public door: the hub network and container netns (CNI), and the per-container hosts store.
export { HubNetwork, DEFAULT_SUBNET, HUB_BRIDGE, type HubOptions, type ContainerNetwork } from "./hub/hub-network.js";
export { CniError } from "./cni/cni-error.js";
