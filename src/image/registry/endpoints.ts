// Where a registry domain is reached: its mirrors first (option `registryMirrors`, env SVCD_REGISTRY_MIRRORS), then
// the registry itself (`docker.io` → registry-1.docker.io). Plain HTTP is refused for anything but loopback hosts.
import { isIP } from "node:net";
import { InvalidArgumentError } from "../../common/errors.js";

/** Mirror URLs keyed by registry domain: `{ "docker.io": "http://127.0.0.1:5000" }` (or a list, tried in order). */
export type RegistryMirrors = Readonly<Record<string, string | readonly string[]>>;

/** One place a repository's manifests and blobs can be fetched from. */
export interface RegistryEndpoint {
  /** Origin without a trailing slash: `https://registry-1.docker.io`, `http://127.0.0.1:5000`. */
  origin: string;
  /** `host[:port]` of the origin: the key for credentials and tokens. */
  host: string;
  /** The registry domain this endpoint serves (`docker.io`). */
  domain: string;
  mirror: boolean;
}

/** Env var holding `domain=url,domain=url` mirror pairs. */
export const MIRRORS_ENV = "SVCD_REGISTRY_MIRRORS";
/** `SVCD_REGISTRY_FALLBACK=0` (or `false`): never go past the mirrors to the upstream registry (offline machines, CI). */
export const FALLBACK_ENV = "SVCD_REGISTRY_FALLBACK";

/** Whether a pull may fall back from the mirrors to the upstream registry, per FALLBACK_ENV (default yes). */
export function upstreamFallbackFromEnv(env: NodeJS.ProcessEnv): boolean {
  const value = (env[FALLBACK_ENV] ?? "").trim().toLowerCase();
  return !(value === "0" || value === "false" || value === "no" || value === "off");
}

/** True for 127.0.0.0/8, ::1 and `localhost` (with or without a port). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  if (isIP(h) === 6) return h === "::1" || h === "0:0:0:0:0:0:0:1";
  return false;
}

/**
 * Validates a mirror (or token realm) URL: http or https, a host, an optional port, no credentials, query or
 * fragment; plain http only for loopback. Returns its origin.
 */
export function validateRegistryUrl(value: string, what = "registry mirror"): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch (err) {
    throw new InvalidArgumentError(`${what} ${JSON.stringify(value)} is not a URL`, { cause: err });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InvalidArgumentError(`${what} ${JSON.stringify(value)}: scheme must be http or https`);
  }
  if (url.hostname === "") throw new InvalidArgumentError(`${what} ${JSON.stringify(value)} has no host`);
  if (url.username || url.password) throw new InvalidArgumentError(`${what} ${JSON.stringify(value)}: put credentials in ~/.docker/config.json, not the URL`);
  if (url.search || url.hash) throw new InvalidArgumentError(`${what} ${JSON.stringify(value)}: no query or fragment allowed`);
  if (url.pathname !== "/" && url.pathname !== "") throw new InvalidArgumentError(`${what} ${JSON.stringify(value)}: no path allowed`);
  if (url.protocol === "http:" && !isLoopbackHost(url.hostname)) {
    throw new InvalidArgumentError(`${what} ${JSON.stringify(value)}: plain http is only allowed for loopback hosts; use https`);
  }
  return url.origin;
}

/** Validates a registry domain used as a mirror key (`docker.io`, `ghcr.io`, `localhost:5000`). */
function validateDomainKey(domain: string): string {
  if (!/^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?(:[0-9]{1,5})?$/.test(domain)) {
    throw new InvalidArgumentError(`registry mirror key ${JSON.stringify(domain)} is not a registry domain`);
  }
  return domain === "index.docker.io" ? "docker.io" : domain;
}

/** Parses SVCD_REGISTRY_MIRRORS (`docker.io=http://127.0.0.1:5000,ghcr.io=https://m.example`); repeats keep order. */
export function parseMirrorsEnv(value: string | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (!value || value.trim() === "") return out;
  for (const raw of value.split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    const eq = entry.indexOf("=");
    if (eq <= 0 || eq === entry.length - 1) {
      throw new InvalidArgumentError(`${MIRRORS_ENV}: entry ${JSON.stringify(entry)} must look like docker.io=http://127.0.0.1:5000`);
    }
    const domain = validateDomainKey(entry.slice(0, eq).trim());
    const origin = validateRegistryUrl(entry.slice(eq + 1).trim(), `${MIRRORS_ENV} mirror for ${domain}`);
    (out[domain] ??= []).push(origin);
  }
  return out;
}

/** Validates and merges the option (first) and the env (after it) into domain → origins, without duplicates. */
export function resolveMirrors(option: RegistryMirrors | undefined, env: NodeJS.ProcessEnv = process.env): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const add = (domain: string, origin: string) => {
    const list = (out[domain] ??= []);
    if (!list.includes(origin)) list.push(origin);
  };
  for (const [key, value] of Object.entries(option ?? {})) {
    const domain = validateDomainKey(key);
    const urls = typeof value === "string" ? [value] : Array.isArray(value) ? value : undefined;
    if (!urls) throw new InvalidArgumentError(`registryMirrors[${JSON.stringify(key)}] must be a URL string or a list of them`);
    for (const url of urls) add(domain, validateRegistryUrl(String(url), `registryMirrors[${JSON.stringify(key)}]`));
  }
  for (const [domain, origins] of Object.entries(parseMirrorsEnv(env[MIRRORS_ENV]))) for (const o of origins) add(domain, o);
  return out;
}

/** The registry's own origin: Docker Hub's API host, https elsewhere, http for a loopback registry (as Docker allows). */
export function upstreamOrigin(domain: string): string {
  if (domain === "docker.io") return "https://registry-1.docker.io";
  const host = domain.replace(/:[0-9]+$/, "");
  return `${isLoopbackHost(host) ? "http" : "https"}://${domain}`;
}

/** The endpoints to try for a domain, mirrors first; `upstream: false` leaves the registry itself out. */
export function endpointsFor(domain: string, mirrors: Record<string, string[]>, upstream = true): RegistryEndpoint[] {
  const out: RegistryEndpoint[] = (mirrors[domain] ?? []).map((origin) => ({ origin, host: new URL(origin).host, domain, mirror: true }));
  if (upstream || out.length === 0) {
    const origin = upstreamOrigin(domain);
    out.push({ origin, host: new URL(origin).host, domain, mirror: false });
  }
  return out;
}
