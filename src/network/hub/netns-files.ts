// Network namespace files: a netns kept alive by bind-mounting /proc/<pid>/ns/net onto a file (what `ip netns add`
// does), so it outlives the process that created it and runc can join it by path.
//
// Layout: one directory (Paths.netnsDir) holding `hub` and `ctr-<id>` files. The directory is made a private bind
// mount of itself, as iproute2 does for /run/netns: the nsfs mounts on its files then never propagate into (or get
// pinned by) other mount namespaces, and a mount on a file of a shared parent is refused on some kernels.
// IPv6 is off in every netns made here (hub and containers) before any interface is added: hygiene, not the
// isolation guarantee — a privileged container can turn it back on; the hub's bridge filters drop IPv6 regardless.
// Invariant: a file is either absent, a mounted netns, or (after a crash mid-create) an empty regular file that
// remove() cleans up like a mounted one. All mount work goes through the ProcessRunner (the engine's namespaces).
// A netns is made by build/svcd-netns (native/svcd-netns.c) in one process when scripts/setup.sh built it, else by
// unshare(1) → sh → ip(8).
import { constants } from "node:fs";
import { mkdir, open, readdir, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { AlreadyExistsError, InternalError } from "../../common/errors.js";
import { nativeHelper } from "../../common/native-helper.js";
import { runChecked, type ProcessRunner } from "../../common/process-runner.js";

/**
 * Run by `sh` in each new netns: interfaces created later (eth0, the host veths) come up without IPv6. Shell
 * redirections rather than sysctl(8) spare a process; a kernel without IPv6 has no such files, which is fine.
 */
const IPV6_OFF = "for f in all default; do echo 1 > /proc/sys/net/ipv6/conf/$f/disable_ipv6; done 2>/dev/null";

/**
 * The netns helper to use: $SVCD_NETNS_HELPER (an absolute path, or "off"), else build/svcd-netns when setup.sh
 * built it; undefined: none (unshare, sh and ip do its work).
 */
export function defaultNetnsHelper(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return nativeHelper("svcd-netns", "SVCD_NETNS_HELPER", env);
}

/** Creates, tests and removes netns files in one directory. */
export class NetnsFiles {
  readonly dir: string;
  readonly #runner: ProcessRunner;
  readonly #env: NodeJS.ProcessEnv | undefined;
  readonly #helper: string | undefined;

  /** `helper`: the netns helper's path, false for none; default defaultNetnsHelper(env). */
  constructor(opts: { dir: string; runner: ProcessRunner; env?: NodeJS.ProcessEnv; helper?: string | false }) {
    this.dir = opts.dir;
    this.#runner = opts.runner;
    this.#env = opts.env;
    this.#helper = opts.helper === false ? undefined : (opts.helper ?? defaultNetnsHelper(opts.env ?? process.env));
  }

  /** Makes the directory a private bind mount of itself (idempotent). Call under the hub setup lock. */
  async preparePrivateDir(signal?: AbortSignal): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const opts = { env: this.#env, signal };
    const probe = await this.#runner.run("mountpoint", ["-q", this.dir], opts);
    if (probe.exitCode !== 0) await runChecked(this.#runner, "mount", ["--bind", this.dir, this.dir], opts);
    await runChecked(this.#runner, "mount", ["--make-private", this.dir], opts);
  }

  /** Undoes preparePrivateDir once no netns file is left in the directory (a best effort; files stay). */
  async releasePrivateDir(): Promise<void> {
    const left = await readdir(this.dir).catch(() => []);
    if (left.length > 0) return;
    const probe = await this.#runner.run("mountpoint", ["-q", this.dir], { env: this.#env });
    if (probe.exitCode === 0) await runChecked(this.#runner, "umount", [this.dir], { env: this.#env });
  }

  /**
   * A new netns bound to `path`, IPv6 off (with its `lo` up when asked: instead of a CNI loopback run);
   * AlreadyExistsError when the file exists. Leaves nothing behind on failure.
   */
  async create(path: string, signal?: AbortSignal, opts: { loopbackUp?: boolean } = {}): Promise<void> {
    try {
      const handle = await open(path, constants.O_CREAT | constants.O_EXCL | constants.O_RDONLY, 0o444);
      await handle.close();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") {
        throw new AlreadyExistsError(`network namespace file ${path} exists already`, { cause: err });
      }
      throw new InternalError(`could not create network namespace file ${path}`, { cause: err });
    }
    try {
      const run = { env: this.#env, signal };
      if (this.#helper) {
        await runChecked(this.#runner, this.#helper, [path, ...(opts.loopbackUp ? ["--lo-up"] : [])], run);
      } else {
        const script = `${IPV6_OFF}; ${opts.loopbackUp ? "exec ip link set lo up" : "true"}`;
        await runChecked(this.#runner, "unshare", [`--net=${path}`, "--", "sh", "-c", script], run);
      }
    } catch (err) {
      await this.remove(path);
      throw err;
    }
  }

  /**
   * True when `path` is a mounted network namespace (a process can enter it). Read in this process, no helper: an
   * nsfs mount on the file gives it another device than its directory's (the invariant above leaves no other mount
   * there), seen in the helpers' mount namespace (ProcessRunner.helperView) where the mounts live.
   */
  async isNetns(path: string): Promise<boolean> {
    const view = this.#runner.helperView?.(path) ?? path;
    try {
      const [file, dir] = await Promise.all([stat(view), stat(dirname(view))]);
      return file.dev !== dir.dev;
    } catch {
      return false; // absent (or its namespace holder gone): nothing to enter
    }
  }

  /** Unmounts and deletes `path`; idempotent (absent or never mounted is fine). */
  async remove(path: string): Promise<void> {
    // umount exits 32 both for "not mounted" and for real failures; the rm below tells them apart (EBUSY).
    await this.#runner.run("umount", [path], { env: this.#env });
    try {
      await rm(path, { force: true });
    } catch (err) {
      throw new InternalError(`could not remove network namespace file ${path}`, { cause: err });
    }
  }

  /** Names of the files in the directory (none when it does not exist). */
  async names(): Promise<string[]> {
    return readdir(this.dir).catch(() => []);
  }
}
