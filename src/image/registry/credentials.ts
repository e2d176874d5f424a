// Registry credentials the way the docker CLI stores them: $DOCKER_CONFIG/config.json (default ~/.docker) with
// `auths` entries, per-registry `credHelpers` and a default `credsStore`, the latter two through the standard
// `docker-credential-<name> get` executables (server URL on stdin, JSON {Username, Secret} on stdout).
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { ImageError, SvcdError } from "../../common/errors.js";
import type { ProcessRunner } from "../../common/process-runner.js";
import { debug } from "../../common/debug.js";

/** What a registry login left behind; `identityToken` is an OAuth refresh token (`docker login` with SSO). */
export interface RegistryCredentials {
  username?: string;
  password?: string;
  identityToken?: string;
}

/** Looks up credentials for a registry host (`host[:port]`). */
export interface CredentialStore {
  get(host: string, signal?: AbortSignal): Promise<RegistryCredentials | undefined>;
}

export interface DockerCredentialStoreOptions {
  /** Spawns credential helpers (argv only, never a shell). */
  runner: ProcessRunner;
  /** Where DOCKER_CONFIG, HOME and PATH (to find helpers) come from; default process.env. */
  env?: NodeJS.ProcessEnv;
}

const DOCKER_HUB_HOSTS = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);
/** The key the docker CLI files Docker Hub credentials under. */
export const DOCKER_HUB_SERVER = "https://index.docker.io/v1/";
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** `https://host:5000/v1/` → `host:5000`, as the docker CLI normalises config keys. */
export function configKeyToHost(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, "").split("/")[0]!.toLowerCase();
}

function sameRegistry(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x === y || (DOCKER_HUB_HOSTS.has(x) && DOCKER_HUB_HOSTS.has(y));
}

/** Decodes one `auths` entry. */
export function decodeAuthEntry(entry: NonNullable<DockerConfig["auths"]>[string]): RegistryCredentials | undefined {
  const out: RegistryCredentials = {};
  if (typeof entry.auth === "string" && entry.auth !== "") {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon > 0) {
      out.username = decoded.slice(0, colon);
      out.password = decoded.slice(colon + 1);
    }
  }
  if (out.username === undefined && typeof entry.username === "string" && entry.username !== "") {
    out.username = entry.username;
    if (typeof entry.password === "string") out.password = entry.password;
  }
  if (typeof entry.identitytoken === "string" && entry.identitytoken !== "") out.identityToken = entry.identitytoken;
  return out.username !== undefined || out.identityToken !== undefined ? out : undefined;
}

/** Reads docker's config.json (fresh on every lookup: `docker login` may run meanwhile). */
export class DockerCredentialStore implements CredentialStore {
  private readonly runner: ProcessRunner;
  private readonly env: NodeJS.ProcessEnv;
  private readonly log = debug("image");

  constructor(options: DockerCredentialStoreOptions) {
    this.runner = options.runner;
    this.env = options.env ?? process.env;
  }

  /** The directory holding config.json. */
  get configDir(): string {
    return this.env.DOCKER_CONFIG || join(this.env.HOME || homedir(), ".docker");
  }

  async get(host: string, signal?: AbortSignal): Promise<RegistryCredentials | undefined> {
    const config = await this.readConfig(host);
    if (!config) return undefined;
    const hub = DOCKER_HUB_HOSTS.has(host.toLowerCase());
    const serverUrl = hub ? DOCKER_HUB_SERVER : host;
    for (const [key, helper] of Object.entries(config.credHelpers ?? {})) {
      if (typeof helper === "string" && sameRegistry(configKeyToHost(key), host)) return this.fromHelper(helper, serverUrl, host, signal);
    }
    if (typeof config.credsStore === "string" && config.credsStore !== "") {
      const found = await this.fromHelper(config.credsStore, serverUrl, host, signal);
      if (found) return found;
    }
    for (const [key, entry] of Object.entries(config.auths ?? {})) {
      if (typeof entry === "object" && entry !== null && sameRegistry(configKeyToHost(key), host)) {
        const creds = decodeAuthEntry(entry);
        if (creds) return creds;
      }
    }
    return undefined;
  }

  private async readConfig(host: string): Promise<DockerConfig | undefined> {
    const file = join(this.configDir, "config.json");
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new ImageError("UNAUTHORIZED", host, `cannot read docker credentials ${file}: ${(err as Error).message}`, { cause: err });
    }
    try {
      const parsed: unknown = JSON.parse(text);
      return typeof parsed === "object" && parsed !== null ? (parsed as DockerConfig) : undefined;
    } catch (err) {
      throw new ImageError("UNAUTHORIZED", host, `docker credentials ${file} are not valid JSON`, { cause: err });
    }
  }

  private async fromHelper(name: string, serverUrl: string, host: string, signal?: AbortSignal): Promise<RegistryCredentials | undefined> {
    if (!HELPER_NAME.test(name)) throw new ImageError("UNAUTHORIZED", host, `invalid credential helper name ${JSON.stringify(name)} in docker config`);
    const file = `docker-credential-${name}`;
    let result;
    try {
      result = await this.runner.run(file, ["get"], { input: serverUrl, env: this.env, signal, timeoutMs: 30_000 });
    } catch (err) {
      if (SvcdError.is(err) && err.code === "CANCELLED") throw err;
      throw new ImageError("UNAUTHORIZED", host, `credential helper ${file} for ${host} could not run: ${(err as Error).message}`, { cause: err });
    }
    const out = result.stdout.trim();
    if (result.exitCode !== 0) {
      if (/credentials not found/i.test(out + result.stderr)) {
        this.log("%s has no credentials for %s", file, host);
        return undefined;
      }
      throw new ImageError("UNAUTHORIZED", host, `credential helper ${file} failed for ${host} (exit ${result.exitCode}): ${(result.stderr || out).trim()}`);
    }
    let json: { Username?: unknown; Secret?: unknown };
    try {
      json = JSON.parse(out) as typeof json;
    } catch (err) {
      throw new ImageError("UNAUTHORIZED", host, `credential helper ${file} printed no JSON for ${host}`, { cause: err });
    }
    const username = typeof json.Username === "string" ? json.Username : "";
    const secret = typeof json.Secret === "string" ? json.Secret : "";
    if (secret === "") return undefined;
    // The docker CLI marks identity tokens with the user name "<token>".
    return username === "<token>" || username === "" ? { identityToken: secret } : { username, password: secret };
  }
}
