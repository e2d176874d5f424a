// Runs CNI plugin binaries the way a CNI runtime does: the CNI_* variables in the environment, the network config
// on stdin, the result (or an error object) on stdout. A plugin that must act in the hub's netns (bridge, which
// creates the hub-side veth and attaches it to the hub bridge) runs under `nsenter --net=<hub>`, so the host netns
// never sees a bridge, a veth or a route.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { EngineUnavailableError } from "../../common/errors.js";
import type { ProcessRunner } from "../../common/process-runner.js";
import { debug } from "../../common/debug.js";
import { CniError } from "./cni-error.js";
import { parseCniError } from "./cni-result.js";

const log = debug("network");

/** Where distributions install the reference plugins: Debian's package first, upstream's tarball second. */
export const CNI_PLUGIN_DIRS = ["/usr/lib/cni", "/opt/cni/bin"] as const;

/** The plugin directory: $SVCD_CNI_PATH when set, else the first standard one holding `bridge`. */
export function locateCniPlugins(env: NodeJS.ProcessEnv = process.env): string {
  const candidates = env.SVCD_CNI_PATH ? [env.SVCD_CNI_PATH] : [...CNI_PLUGIN_DIRS];
  for (const dir of candidates) {
    if (["bridge", "host-local", "loopback"].every((p) => existsSync(join(dir, p)))) return dir;
  }
  throw new EngineUnavailableError(
    `CNI plugins (bridge, host-local, loopback) not found in ${candidates.join(" or ")}: ` +
      "apt-get install containernetworking-plugins",
  );
}

export type CniCommand = "ADD" | "DEL" | "CHECK";

export interface CniInvocation {
  plugin: "bridge" | "host-local" | "loopback";
  command: CniCommand;
  containerId: string;
  /** The container's netns file; "" for a DEL whose netns is already gone. */
  netns: string;
  ifname: string;
  /** The plugin's config, serialised (see pluginStdin). */
  config: string;
  /** Run the plugin inside this netns (the hub's) rather than the caller's. */
  inNetns?: string;
  signal?: AbortSignal;
}

/** Invokes plugins from one directory with one runner. */
export class CniPlugins {
  readonly dir: string;
  readonly #runner: ProcessRunner;
  readonly #env: NodeJS.ProcessEnv;

  constructor(opts: { runner: ProcessRunner; dir: string; env?: NodeJS.ProcessEnv }) {
    this.dir = opts.dir;
    this.#runner = opts.runner;
    this.#env = opts.env ?? process.env;
  }

  /** Runs one plugin command; resolves its stdout, throws CniError with the plugin's own message on failure. */
  async invoke(call: CniInvocation): Promise<string> {
    const env: NodeJS.ProcessEnv = {
      PATH: this.#env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
      CNI_COMMAND: call.command,
      CNI_CONTAINERID: call.containerId,
      CNI_NETNS: call.netns,
      CNI_IFNAME: call.ifname,
      CNI_PATH: this.dir,
    };
    const binary = join(this.dir, call.plugin);
    const [file, args] = call.inNetns ? ["nsenter", [`--net=${call.inNetns}`, "--", binary]] : [binary, []];
    const started = Date.now();
    const result = await this.#runner.run(file, args, { env, input: call.config, signal: call.signal });
    log("%s %s %s: exit %d in %d ms", call.containerId, call.plugin, call.command, result.exitCode, Date.now() - started);
    if (result.exitCode === 0) return result.stdout;
    const body = parseCniError(result.stdout);
    throw new CniError({
      plugin: call.plugin,
      command: call.command,
      containerId: call.containerId,
      message: body?.msg ?? (result.stderr.trim() || result.stdout.trim() || `exit ${result.exitCode}`),
      ...(body?.code !== undefined ? { cniCode: body.code } : {}),
      ...(body?.details !== undefined ? { details: body.details } : {}),
    });
  }
}
