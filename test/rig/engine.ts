// What an integration test needs to look at the engine from outside as the engine itself does, in either mode: the
// engine's Paths (root's, or the user's XDG dirs in the rootless pass) and a runner for helpers that must run in the
// engine's namespaces (nsenter into a container netns, nft in the hub, mount checks): the host runner as root, the
// user engine's NamespaceRunner otherwise. Tests use these instead of building their own.
import { accessSync, constants, mkdtempSync } from "node:fs";
import { join } from "node:path";
import { Paths } from "../../src/common/paths.js";
import { ContainerdClient } from "../../src/containerd/index.js";
import { TUN_DEVICE } from "../../src/network/index.js";
import { HostProcessRunner, type ProcessRunner } from "../../src/common/process-runner.js";
import { userNamespaceRunner } from "../../src/rootless/index.js";

/** True in the rootless pass (tests run as an unprivileged user, on that user's own engine). */
export const rootless = (process.getuid?.() ?? 0) !== 0;

/** The engine's Paths for this process's user and environment (SVCD_STATE_DIR / SVCD_RUNTIME_DIR honoured). */
export function enginePaths(env: NodeJS.ProcessEnv = process.env): Paths {
  return Paths.fromEnv(env, rootless ? process.getuid!() : undefined);
}

/** Runs helpers where the engine runs them. Rootless: the user engine must be up (connect() first). */
export function engineRunner(paths: Paths = enginePaths()): ProcessRunner {
  return rootless ? userNamespaceRunner(paths) : new HostProcessRunner();
}

/** The engine's containerd socket: what the test runner exported (CONTAINERD_ADDRESS), else root's system socket. */
export function engineAddress(env: NodeJS.ProcessEnv = process.env): string {
  return env.CONTAINERD_ADDRESS || (rootless ? enginePaths(env).containerdSocket : "/run/containerd/containerd.sock");
}

/**
 * A client of the engine's containerd in `namespace`, made as the engine makes it: a rootless engine's tasks get no
 * `all` on Tasks.Kill (their processes are not in a cgroup of their own).
 */
export function engineClient(namespace: string, env: NodeJS.ProcessEnv = process.env): ContainerdClient {
  return new ContainerdClient({ address: engineAddress(env), namespace, signalAll: !rootless });
}

/**
 * A fresh private directory for a test's own runtime root (netns files, leases, hosts files): under /run as root, as
 * the engine's are; under the user engine's runtime dir in the rootless pass (the user may not write /run, and the
 * engine's mount namespace sees that dir as the host does). The caller removes it.
 */
export function testRuntimeDir(prefix = "svcd-test-"): string {
  return mkdtempSync(join(rootless ? enginePaths().runtime : "/run", prefix));
}

/** Paths rooted at a fresh testRuntimeDir (state under `<runtime>/state`). */
export function testPaths(prefix?: string): Paths {
  const runtime = testRuntimeDir(prefix);
  return new Paths({ state: join(runtime, "state"), runtime });
}

/**
 * The argv that runs `file args` where the engine runs helpers, for the few synchronous test fixtures
 * (spawnSync): unchanged as root, wrapped in the user engine's nsenter otherwise.
 */
export function engineArgv(file: string, args: readonly string[]): [string, string[]] {
  if (!rootless) return [file, [...args]];
  return ["nsenter", userNamespaceRunner(enginePaths()).wrap(file, args)];
}

/**
 * True when egress can run in this mode: as root always (the test must then see it on); as a user only where
 * /dev/net/tun is open to them (it is 0600 root on some hosts: the engine then warns SVCD_EGRESS_OFF and says why).
 */
export function egressPossible(): boolean {
  if (!rootless) return true;
  try {
    accessSync(TUN_DEVICE, constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
