// What an integration test needs to look at the engine from outside as the engine itself does, in either mode: the
// engine's Paths (root's, or the user's XDG dirs in the rootless pass) and a runner for helpers that must run in the
// engine's namespaces (nsenter into a container netns, nft in the hub, mount checks): the host runner as root, the
// user engine's NamespaceRunner otherwise. Tests use these instead of building their own.
import { Paths } from "../../src/common/paths.js";
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
