// `connect()` and `dag`: the two ways a program gets a Client.
import { createEngine } from "../engine/index.js";
import { InvalidArgumentError } from "../common/errors.js";
import { assertCallOptions, assertId, assertString, quote, type Engine } from "../definition/index.js";
import { resolveMirrors } from "../image/index.js";
import { Client } from "./client.js";
import type { ConnectOptions } from "./connect-options.js";
import { LocalHost } from "./local-host.js";

/** Opens a session with an embedded engine (svcd's daemon is used instead once it exists). */
export async function connect(options: ConnectOptions = {}): Promise<Client> {
  checkConnectOptions(options);
  const engine = await createEngine({ ...options, host: new LocalHost() });
  const client = new Client(Promise.resolve<Engine>(engine));
  if (options.signal) {
    if (options.signal.aborted) await client.close();
    else options.signal.addEventListener("abort", () => void client.close(), { once: true });
  }
  return client;
}

// The default client connects on first use and closes when the process is about to exit.
let defaultClient: Client | undefined;

function lazyDefault(): Client {
  if (!defaultClient) {
    const engine = createEngine({ host: new LocalHost() });
    defaultClient = new Client(engine);
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
