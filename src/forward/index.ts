// The forward layer's public door: the agent in the hub netns (health probes, TCP forwards).
export { ForwardAgent, type AgentOptions, type ForwardHandle, type ForwardTarget } from "./forward-agent.js";
export { type WaitForPortOptions } from "./port-waiter.js";
export { backoffDelay } from "./backoff.js";
