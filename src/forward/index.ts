// The forward layer's public door: the agent in the hub netns (health probes, TCP and UDP forwards, host services).
export {
  ForwardAgent,
  type AgentOptions,
  type ForwardDatagramsOptions,
  type ForwardHandle,
  type ForwardTarget,
  type HostServiceListen,
} from "./forward-agent.js";
export { type HostDialTarget, type HostServiceOptions } from "./host-service.js";
export { type WaitForPortOptions } from "./port-waiter.js";
export { backoffDelay } from "../common/backoff.js";
