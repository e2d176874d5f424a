// `connect()` and `dag`: the two ways a program gets a Client, talking to svcd's daemon when it answers, else to an
// embedded engine (DESIGN.md §2).
import { createEngine, LocalHost } from "../engine/index.js";
import { EngineUnavailableError, InvalidArgumentError } from "../common/errors.js";
import { assertCallOptions, assertId, assertOneOf, assertString, quote, type Engine } from "../definition/index.js";
import { daemonSocketPath, probeKeepingClient, RemoteEngine } from "../daemon/index.js";
import { resolveMirrors } from "../image/index.js";
import { debug } from "../common/debug.js";
import { Client } from "./client.js";
import type { ConnectOptions } from "./connect-options.js";

const trace = debug("connect");

/** Options only an embedded engine takes: a daemon has its own (its flags and environment). */
const DAEMON_WIDE = ["containerd", "namespace", "rootless"] as const;

/** Opens a session: with svcd's daemon when its socket answers (or `engine: "daemon"`), else embedded. */
export async function connect(options: ConnectOptions = {}): Promise<Client> {
  checkConnectOptions(options);
  const client = new Client(Promise.resolve(await openEngine(options)));
  if (options.signal) {
    if (options.signal.aborted) await client.close();
    else options.signal.addEventListener("abort", () => void client.close(), { once: true });
  }
  return client;
}

/**
 * The mirrors a daemon session gets: the option, then the client's own SVCD_REGISTRY_MIRRORS — the daemon cannot see
 * the client's environment, and a client configured by it (svc in a shell, a CI job) means its mirrors, as it would
 * embedded. One origin per domain travels (the first).
 */
function sessionMirrors(option: ConnectOptions["registryMirrors"]): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const [domain, origins] of Object.entries(resolveMirrors(option, process.env))) if (origins[0]) out[domain] = origins[0];
  return Object.keys(out).length > 0 ? out : undefined;
}

async function openEngine(options: ConnectOptions): Promise<Engine> {
  const mode = options.engine ?? "auto";
  if (mode !== "embedded") {
    const socket = daemonSocketPath(options.socket);
    const { probe, client } = await probeKeepingClient(socket);
    trace(probe.state === "answers" ? "svcd's daemon at %s answers (pid %d): the session is its" : "svcd's daemon at %s: %s", socket, probe.state === "answers" ? probe.version.pid : probe.state === "absent" ? probe.reason : "denied");
    if (probe.state === "answers") {
      const given = DAEMON_WIDE.filter((name) => options[name] !== undefined);
      if (given.length > 0) {
        client?.close();
        throw new InvalidArgumentError(
          `${given.join(", ")}: daemon-wide option${given.length > 1 ? "s" : ""}, but this client talks to svcd's daemon at ${socket}, which has its own: ` +
            `configure the daemon (svcd --containerd/--namespace/--rootless, or its unit's Environment=), or connect({ engine: "embedded" })`,
        );
      }
      return RemoteEngine.open(
        socket,
        {
          sessionId: options.sessionId,
          moduleId: options.moduleId,
          registryMirrors: sessionMirrors(options.registryMirrors),
          serviceGracePeriodMs: options.serviceGracePeriodMs,
          onProgress: options.onProgress,
        },
        options.signal,
        client,
      );
    }
    if (probe.state === "denied") {
      throw new EngineUnavailableError(
        `you may not open svcd's socket ${socket} (owner ${probe.owner}, group ${probe.group}, mode ${probe.mode}): ` +
          (probe.group !== "?" && probe.mode.endsWith("60")
            ? `ask to be added to the group ${probe.group} (usermod -aG ${probe.group} <you>, then log in again)`
            : `it is ${probe.owner}'s daemon: run your own (systemctl --user enable --now svcd.socket)`) +
          `, or connect({ engine: "embedded" })`,
      );
    }
    if (mode === "daemon") {
      throw new EngineUnavailableError(
        `no svcd daemon answers at ${socket} (${probe.reason}): start it (as root: systemctl enable --now svcd.socket; as a user: systemctl --user enable --now svcd.socket; or run svcd --socket ${socket}), or connect({ engine: "embedded" })`,
      );
    }
  }
  return createEngine({ ...options, host: new LocalHost() });
}

// The default client connects on first use and closes when the process is about to exit.
let defaultClient: Client | undefined;
let defaultOptions: ConnectOptions = {};

/**
 * The options `dag` connects with, for a program that hands `dag` to code it loads (`svc call` passes its
 * progress output and session this way). Only before `dag`'s first use: InvalidArgumentError after it.
 */
export function configureDag(options: ConnectOptions): void {
  if (defaultClient) throw new InvalidArgumentError("configureDag: dag is already connected; configure it before its first use");
  checkConnectOptions(options);
  defaultOptions = { ...options };
}

function lazyDefault(): Client {
  if (!defaultClient) {
    defaultClient = new Client(openEngine(defaultOptions));
    const client = defaultClient;
    process.once("beforeExit", () => void client.close());
  }
  return defaultClient;
}

/** A default Client, connected on first use (like Dagger's `dag`), closed when the process is about to exit. */
export const dag: Pick<Client, "container" | "cacheVolume" | "host" | "service" | "close"> = {
  container: () => lazyDefault().container(),
  cacheVolume: (name: string) => lazyDefault().cacheVolume(name),
  host: () => lazyDefault().host(),
  service: (uri: string) => lazyDefault().service(uri),
  close: () => (defaultClient ? defaultClient.close() : Promise.resolve()),
};

/** What the engine would only check after it has started (or never): ids reach labels and names, paths sockets. */
function checkConnectOptions(options: ConnectOptions): void {
  assertCallOptions(options, "connect options");
  if (options.engine !== undefined) assertOneOf(options.engine, ["auto", "embedded", "daemon"] as const, "engine");
  if (options.socket !== undefined) {
    assertString(options.socket, "socket");
    daemonSocketPath(options.socket);
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== "function") throw new InvalidArgumentError("connect options: onProgress must be a function");
  if (options.sessionId !== undefined) assertId(options.sessionId, "sessionId");
  if (options.moduleId !== undefined) assertId(options.moduleId, "moduleId");
  if (options.containerd !== undefined) assertString(options.containerd, "containerd socket path");
  const grace = options.serviceGracePeriodMs;
  if (grace !== undefined && (typeof grace !== "number" || !Number.isFinite(grace) || grace < 0)) {
    throw new InvalidArgumentError(`invalid serviceGracePeriodMs ${quote(grace)}: use a number of milliseconds ≥ 0`);
  }
  resolveMirrors(options.registryMirrors, {}); // the option alone; the engine checks it again with the environment
}
