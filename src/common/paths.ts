// Every directory and file the engine uses, derived from two roots. Rootless mode swaps the roots (XDG dirs);
// nothing else in the engine builds a path of its own from a constant.
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";

export interface PathRoots {
  /** Persistent state: managed containerd's root, cache volumes, service logs. Root: /var/lib/svcd. */
  state: string;
  /** Volatile state: sockets, pidfiles, FIFOs, netns files, hosts files, IPAM. Root: /run/svcd. */
  runtime: string;
}

export class Paths {
  readonly state: string;
  readonly runtime: string;

  constructor(roots: PathRoots) {
    this.state = roots.state;
    this.runtime = roots.runtime;
  }

  /** The roots for a root user. */
  static forRoot(): Paths {
    return new Paths({ state: "/var/lib/svcd", runtime: "/run/svcd" });
  }

  /**
   * The roots of a rootless engine for user `uid`: state in `$XDG_DATA_HOME/svcd` (default `~/.local/share/svcd`),
   * runtime files in `$XDG_RUNTIME_DIR/svcd`, or `/tmp/svcd-<uid>` where no runtime dir is set (the rootless layer
   * checks that one is the user's own before using it). Relative XDG values are ignored, as the spec says.
   */
  static forUser(uid: number, env: NodeJS.ProcessEnv = process.env): Paths {
    const abs = (v: string | undefined) => (v && isAbsolute(v) ? v : undefined);
    const dataHome = abs(env.XDG_DATA_HOME) ?? join(abs(env.HOME) ?? homedir(), ".local", "share");
    const runtimeDir = abs(env.XDG_RUNTIME_DIR);
    return new Paths({ state: join(dataHome, "svcd"), runtime: runtimeDir ? join(runtimeDir, "svcd") : `/tmp/svcd-${uid}` });
  }

  /**
   * Roots from SVCD_STATE_DIR / SVCD_RUNTIME_DIR when set (tests, several isolated engines), else the defaults: root's,
   * or user `rootlessUid`'s when given.
   */
  static fromEnv(env: NodeJS.ProcessEnv = process.env, rootlessUid?: number): Paths {
    const base = rootlessUid === undefined ? Paths.forRoot() : Paths.forUser(rootlessUid, env);
    return new Paths({ state: env.SVCD_STATE_DIR || base.state, runtime: env.SVCD_RUNTIME_DIR || base.runtime });
  }

  // --- managed containerd ---
  /** containerd's --root (content store, snapshots, metadata). */
  get containerdRoot(): string {
    return join(this.state, "containerd");
  }
  /** containerd's --state (shim sockets, bundles). */
  get containerdState(): string {
    return join(this.runtime, "containerd");
  }
  /** The managed containerd's gRPC socket. Unix socket paths are limited to 108 bytes. */
  get containerdSocket(): string {
    return join(this.runtime, "containerd.sock");
  }
  get containerdConfig(): string {
    return join(this.runtime, "containerd.toml");
  }
  /** The supervisor's pid record (`<pid> <start time>`). */
  get containerdPidFile(): string {
    return join(this.runtime, "containerd.pid");
  }
  /** containerd's own pid record, rewritten by the supervisor at every restart. */
  get containerdDaemonPidFile(): string {
    return join(this.runtime, "containerd-daemon.pid");
  }
  get containerdLog(): string {
    return join(this.state, "containerd.log");
  }
  /** rootlesskit's --state-dir (its lock, child_pid and API socket) for a rootless engine. */
  get rootlesskitState(): string {
    return join(this.runtime, "rootlesskit");
  }
  /** Serialises starting the managed containerd among concurrent processes. */
  get containerdLock(): string {
    return join(this.runtime, "containerd.lock");
  }

  // --- per-task IO ---
  /** Directory of one task's stdio FIFOs; containerd and the engine both see it. */
  fifoDir(id: string): string {
    return join(this.runtime, "fifo", id);
  }

  // --- network (services issue) ---
  get netnsDir(): string {
    return join(this.runtime, "netns");
  }
  get hostsDir(): string {
    return join(this.runtime, "hosts");
  }
  get ipamDir(): string {
    return join(this.runtime, "ipam");
  }
  get cniConfigDir(): string {
    return join(this.runtime, "cni");
  }
  /** The hub network namespace file (a bind mount of the hub netns inside netnsDir). */
  get hubNetns(): string {
    return join(this.netnsDir, "hub");
  }
  /** One container's network namespace file; the prefix keeps ids apart from the hub's file. */
  containerNetns(id: string): string {
    return join(this.netnsDir, `ctr-${id}`);
  }
  /** The bridge network's CNI config list (bridge + host-local), written by the hub's creator. */
  get cniNetworkConfig(): string {
    return join(this.cniConfigDir, "svcd.conflist");
  }
  /** The loopback network's CNI config list. */
  get cniLoopbackConfig(): string {
    return join(this.cniConfigDir, "svcd-loopback.conflist");
  }
  /** Held shared by every engine attached to the hub, for its life; taken exclusively only to tear the hub down. */
  get hubLock(): string {
    return join(this.locksDir, "hub.lock");
  }
  /** Serialises creating and tearing down the hub among engine processes. */
  get hubSetupLock(): string {
    return join(this.locksDir, "hub-setup.lock");
  }
  /** The hub's slirp4netns pid record (egress); read and written under hubSetupLock. */
  get egressPidFile(): string {
    return join(this.runtime, "egress.json");
  }
  /** slirp4netns's stdout/stderr, truncated at each start: the reason when it fails. */
  get egressLog(): string {
    return join(this.runtime, "egress.log");
  }
  /** Serialises writes to the hosts store (hostsDir). */
  get hostsLock(): string {
    return join(this.locksDir, "hosts.lock");
  }

  // --- persistent engine data ---
  get cacheVolumesDir(): string {
    return join(this.state, "volumes");
  }
  get serviceLogsDir(): string {
    return join(this.state, "logs");
  }
  get locksDir(): string {
    return join(this.runtime, "locks");
  }
  /** One lock file per session id an engine of this user holds (embedded engines do not share a session). */
  get sessionLocksDir(): string {
    return join(this.locksDir, "sessions");
  }

  // --- build-cache GC (src/engine/prune) ---
  /** One file per live session listing the build-cache steps it uses (volatile: sessions die with the boot). */
  get cacheInUseDir(): string {
    return join(this.runtime, "cache-in-use");
  }
  /** Its mtime is when an engine last ran the automatic build-cache GC (machine-wide throttle). */
  get cacheGcStamp(): string {
    return join(this.state, "cache-gc.stamp");
  }
}
