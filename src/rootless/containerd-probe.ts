// "Does a containerd answer on this socket?" — the one question the endpoint choice asks. A probe is injectable:
// the default makes a Version call through the engine's gRPC client; `ctrProbe` asks `ctr version` instead.
import { stat } from "node:fs/promises";
import { throwIfAborted } from "../common/errors.js";
import type { ProcessRunner } from "../common/process-runner.js";
import { ContainerdClient } from "../containerd/index.js";

/** Resolves true when a containerd serves `address`; never throws for an unreachable one. */
export type ContainerdProbe = (address: string, signal?: AbortSignal) => Promise<boolean>;

/** How long one probe may take before the socket counts as not answering. */
export const PROBE_TIMEOUT_MS = 3000;

/** The filesystem path of a unix socket address (`/x.sock`, `unix:///x.sock` or `unix:/x.sock`). */
export function socketPath(address: string): string {
  if (address.startsWith("unix://")) return address.slice("unix://".length);
  if (address.startsWith("unix:")) return address.slice("unix:".length);
  return address;
}

/** True when `path` exists and is a socket: a cheap check before a probe that would wait for a timeout. */
export async function isSocket(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isSocket();
  } catch {
    return false;
  }
}

/** Runs `probe` only when the socket file exists; turns probe failures into `false` unless the caller aborted. */
export async function answers(address: string, probe: ContainerdProbe, signal?: AbortSignal): Promise<boolean> {
  throwIfAborted(signal);
  if (!(await isSocket(socketPath(address)))) return false;
  try {
    return await probe(address, signal);
  } catch {
    throwIfAborted(signal);
    return false;
  }
}

/** The default probe: a Version call through the engine's own gRPC client, on a fresh channel each time. */
export function clientProbe(options: { timeoutMs?: number } = {}): ContainerdProbe {
  const timeoutMs = options.timeoutMs ?? PROBE_TIMEOUT_MS;
  return async (address, signal) => {
    // A fresh channel per probe: a reused one backs off after a refused connect and would notice a new daemon late.
    const client = new ContainerdClient({ address, namespace: "default" });
    try {
      await client.serverVersion(signal ? { signal, timeoutMs } : { timeoutMs });
      return true;
    } catch {
      return false;
    } finally {
      client.close();
    }
  };
}

export interface CtrProbeOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** A probe running `ctr --address <sock> version` through the runner (ctr exits non-zero without a server). */
export function ctrProbe(runner: ProcessRunner, options: CtrProbeOptions = {}): ContainerdProbe {
  const timeoutMs = options.timeoutMs ?? PROBE_TIMEOUT_MS;
  return async (address, signal) => {
    const seconds = `${Math.max(1, Math.ceil(timeoutMs / 1000))}s`;
    const result = await runner.run("ctr", ["--address", socketPath(address), "--timeout", seconds, "version"], {
      env: options.env,
      signal,
      timeoutMs: timeoutMs + 1000,
    });
    return result.exitCode === 0 && /Server:/.test(result.stdout);
  };
}
