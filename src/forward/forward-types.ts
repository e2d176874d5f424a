// The forward layer's option and handle types, shared by forward-agent.ts and spliced-forwards.ts.
import type { ProcessRunner } from "../common/process-runner.js";

export interface AgentOptions {
  /** The hub network namespace file (e.g. /run/svcd/netns/hub) the agent runs in. */
  hubNetns: string;
  /** Spawns `nsenter … node agent-main`: the host runner as root, the rootless one otherwise. */
  runner: ProcessRunner;
  /** Cancels the (first) start. */
  signal?: AbortSignal;
  /** Environment of the agent (PATH decides which nsenter runs). Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** The interface in the hub netns that host-service addresses are added to. Default: the hub bridge, "svcd0". */
  hostServiceDevice?: string;
  /**
   * The splice helper (native/svcd-splice.c) that carries TCP forwards' bytes; false: the agent pipes them in Node.
   * Default: $SVCD_SPLICE_HELPER, else build/svcd-splice when scripts/setup.sh built it, else false.
   */
  spliceHelper?: string | false;
  /** Runs host-service splice helpers in the engine's own netns and identity. Default: a HostProcessRunner. */
  hostRunner?: ProcessRunner;
}

/** Where a host service listens inside the hub: an address of the reserved sub-range (HubNetwork.reservedAddress). */
export interface HostServiceListen {
  address: string;
  port: number;
  protocol: "TCP" | "UDP";
}

/** Options of forwardDatagrams. */
export interface ForwardDatagramsOptions {
  /** A peer's upstream socket in the hub closes after this long without traffic. Default 60 000. */
  idleMs?: number;
  signal?: AbortSignal;
}

/** A TCP endpoint inside the hub netns. */
export interface ForwardTarget {
  ip: string;
  port: number;
}

/** A running forward. */
export interface ForwardHandle {
  /** Stops accepting, resets the forward's open connections and frees its port. Idempotent. */
  close(): Promise<void>;
  /** Resolves when the forward has stopped: closed, or its agent (or splice helper) died; the owner may forward anew. */
  readonly closed: Promise<void>;
}
