// How a rootless engine's supervisor is started: as rootlesskit's child, so that it holds the user and mount
// namespaces for as long as it lives and restarts containerd inside them (containerd as rootlesskit's direct child
// would take the namespaces — and every netns bind mount in them — down when it dies).
//
// Network: `--net=host`. The user namespace shares the host's network namespace (which it cannot change), and the
// hub netns is created inside the user namespace as svcd creates it as root. `up` listeners and host-service dials
// stay in the engine process, on the host's real loopback, and cross into the hub as file descriptors handed to the
// forward agent — the same one-hop path as root, with no port driver and no slirp between the host and a service.
// (rootlesskit's own netns would put a slirp4netns or a port driver on that path and hide the host's loopback.)
//
// Mounts: `--copy-up=/run` gives the namespace a writable /run (a tmpfs whose entries link to the host's), where
// containerd 1.6's shim insists on /run/containerd/s for its sockets; the supervisor creates /run/containerd there.
// Everything else svcd keeps is under the user's own state and runtime dirs, visible from both sides.
import { rmSync } from "node:fs";
import type { Paths } from "../common/paths.js";
import type { SupervisorLauncher } from "./managed-containerd.js";

/** The shim's fixed socket directory's parent, created inside the namespace by the supervisor. */
export const SHIM_RUN_DIR = "/run/containerd";

export function rootlesskitLauncher(paths: Paths): SupervisorLauncher {
  const stateDir = paths.rootlesskitState;
  return {
    makeDirs: [SHIM_RUN_DIR],
    // A state dir left by a rootlesskit that died holds a stale child_pid and api.sock: start clean.
    prepare: () => rmSync(stateDir, { recursive: true, force: true }),
    command: (file, args) => ({
      file: "rootlesskit",
      args: [
        "--net=host",
        "--copy-up=/run",
        // Mounts made inside (netns files) stay inside; nothing propagates back to the host.
        "--propagation=rslave",
        `--state-dir=${stateDir}`,
        "--",
        file,
        ...args,
      ],
    }),
  };
}
