// One TCP forward carried by the splice helper (native/svcd-splice.c, issue 13): a process per listener that accepts
// on the listening socket it inherits as fd 3 and moves bytes with splice(2), so no byte is copied through Node.
// `up`: started in the hub netns (nsenter --net through the engine's runner), fd 3 the host-side listener, dialling
// the service's IP. Host services: started in the engine's own netns, fd 3 the hub listener the agent made, dialling
// the host target. The caller keeps its copy of the listener until start() resolved (the helper said "ready"), then
// closes it; connections that copy accepted meanwhile are the caller's to carry.
//
// Lifetime: the helper's stdin is a pipe from this process. close() ends it (the helper resets every connection and
// exits; SIGKILL after a grace period) and resolves once it has exited, so the port is free; the engine's death
// closes the pipe too (and the helper asked for PDEATHSIG), so a helper never outlives its engine.
import type { ChildProcess } from "node:child_process";
import { isAbsolute } from "node:path";
import type { Server, Socket } from "node:net";
import { assertDialHost } from "../common/dial-host.js";
import { debug } from "../common/debug.js";
import { nativeHelper } from "../common/native-helper.js";
import { EngineUnavailableError, InvalidArgumentError, TimeoutError } from "../common/errors.js";
import type { ProcessRunner } from "../common/process-runner.js";
import { checkPort, checkTimeout } from "./agent-protocol.js";
import { watchChild } from "./child-watch.js";

const log = debug("forward");

/** How much of the helper's stderr is kept for error messages. */
const STDERR_TAIL_BYTES = 2048;

/**
 * The helper to use: $SVCD_SPLICE_HELPER (an absolute path, or "off" for the agent's Node pipes), else where
 * scripts/setup.sh builds it (build/ at the package root), if it is there.
 */
export function defaultSpliceHelper(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return nativeHelper("svcd-splice", "SVCD_SPLICE_HELPER", env);
}

export interface SpliceForwardOptions {
  /** The helper binary (absolute path). */
  helper: string;
  /** Spawns it: with `netns`, as `nsenter --net=<netns> -- helper …` (the engine's runner enters the user namespace). */
  runner: ProcessRunner;
  /** The network namespace file to run in (`up`: the hub); absent: the runner's own (host services). */
  netns?: string;
  /** The hub this forward serves, for the helper's argv (ps, leak checks). */
  hub: string;
  /** The listening socket the helper accepts on; still the caller's (see the header). */
  listener: Server;
  /** Where each connection goes, dialled from the helper's netns (an IP literal, or a host name resolved per dial). */
  target: { host: string; port: number };
  /** A dial that has not connected after this long resets the client. Default 10 000. */
  dialTimeoutMs?: number;
  /** Told the errno name (ECONNREFUSED, ETIMEDOUT, …) of every dial that failed; the client was reset. */
  onDialFailed?: (code: string) => void;
  env?: NodeJS.ProcessEnv;
  /** How long the helper may take to say "ready" (default 10 s). */
  readyTimeoutMs?: number;
}

/** A running splice helper. */
export class SpliceForward {
  /** Resolves once the helper has exited (closed, or died). */
  readonly closed: Promise<void>;
  #closing: Promise<void> | undefined;

  private constructor(private readonly child: ChildProcess, closed: Promise<void>) {
    this.closed = closed;
  }

  /** The helper's pid (after nsenter exec'd it). */
  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Starts the helper on opts.listener; resolves once it accepts there. Nothing is left running on failure. */
  static start(opts: SpliceForwardOptions): Promise<SpliceForward> {
    const { helper, hub, target } = opts;
    if (typeof helper !== "string" || !isAbsolute(helper)) throw new InvalidArgumentError(`splice helper must be an absolute path: ${JSON.stringify(helper)}`);
    if (typeof hub !== "string" || !isAbsolute(hub)) throw new InvalidArgumentError(`hub must be an absolute path: ${JSON.stringify(hub)}`);
    if (opts.netns !== undefined && (typeof opts.netns !== "string" || !isAbsolute(opts.netns))) {
      throw new InvalidArgumentError(`netns must be an absolute path: ${JSON.stringify(opts.netns)}`);
    }
    assertDialHost(target?.host, "splice target host");
    checkPort(target.port);
    const dialTimeoutMs = opts.dialTimeoutMs ?? 10_000;
    checkTimeout(dialTimeoutMs, "dialTimeoutMs", 3_600_000);
    const fd = listenerFd(opts.listener);
    const args = ["--hub", hub, "--connect", target.host, String(target.port), "--timeout-ms", String(Math.ceil(dialTimeoutMs))];
    const stdio: ["pipe", "pipe", "pipe", number] = ["pipe", "pipe", "pipe", fd];
    const child = opts.netns === undefined
      ? opts.runner.spawn(helper, args, { env: opts.env, stdio })
      : opts.runner.spawn("nsenter", [`--net=${opts.netns}`, "--", helper, ...args], { env: opts.env, stdio });
    const watch = watchChild(child, STDERR_TAIL_BYTES);
    const closed = watch.exited;
    // Neither the helper nor its pipes keep the engine's event loop alive (as the agent's channel does not).
    child.unref();
    for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as Socket | null)?.unref?.();
    return new Promise<SpliceForward>((resolve, reject) => {
      let ready = false;
      let buffered = "";
      const fail = (err: Error) => {
        if (ready) return;
        ready = true;
        clearTimeout(timer);
        child.kill("SIGKILL");
        void closed.then(() => reject(err));
      };
      const readyTimeoutMs = opts.readyTimeoutMs ?? 10_000;
      const timer = setTimeout(() => fail(new TimeoutError(`splice helper did not start within ${readyTimeoutMs} ms: ${watch.stderrTail()}`)), readyTimeoutMs);
      child.stdout?.setEncoding("utf8");
      child.stdout?.on("data", (chunk: string) => {
        buffered += chunk;
        for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line === "ready" && !ready) {
            ready = true;
            clearTimeout(timer);
            log("splice helper %d: %s → %s:%d", child.pid, opts.netns ?? "(engine netns)", target.host, target.port);
            resolve(new SpliceForward(child, closed));
          } else if (line.startsWith("dial-failed ")) {
            const code = line.slice("dial-failed ".length);
            log("splice helper %d: connect %s:%d failed: %s", child.pid, target.host, target.port, code);
            opts.onDialFailed?.(/^E[A-Z0-9]+$/.test(code) ? code : "ERROR");
          }
        }
      });
      child.stdin?.on("error", () => {}); // EPIPE once the helper is gone
      child.once("error", (err: NodeJS.ErrnoException) => fail(new EngineUnavailableError(`could not start the splice helper: ${err.message}`, { cause: err })));
      void closed.then(() => fail(new EngineUnavailableError(`splice helper exited before it was ready (${watch.exitText()}): ${watch.stderrTail() || "no output"}`)));
    });
  }

  /** Resets the forward's connections and stops the helper; resolves once it has exited (its port is free). */
  close(graceMs = 2000): Promise<void> {
    this.#closing ??= (async () => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return;
      this.child.ref();
      this.child.stdin?.end();
      const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
      await this.closed;
      clearTimeout(timer);
    })();
    return this.#closing;
  }
}

/** The listening socket's file descriptor: Node has no public accessor; its TCP handle has `fd` on Unix. */
function listenerFd(server: Server): number {
  const fd = (server as Server & { _handle?: { fd?: unknown } | null })._handle?.fd;
  if (!server.listening || typeof fd !== "number" || !Number.isInteger(fd) || fd < 0) {
    throw new InvalidArgumentError("the splice helper needs a listening net.Server with a file descriptor");
  }
  return fd;
}
