// A registry client (OCI distribution API) on Node's own fetch: resolve a tag or digest to a descriptor, fetch
// manifests and blobs as verified streams, answer auth challenges, and try mirrors before the registry itself.
import { CancelledError, ImageError, SvcdError } from "../../common/errors.js";
import { debug } from "../../common/debug.js";
import type { ProcessRunner } from "../../common/process-runner.js";
import { MANIFEST_ACCEPT, bareMediaType } from "../media-types.js";
import { MAX_MANIFEST_BYTES, checkSupportedTopLevel, type Descriptor } from "../manifest.js";
import type { Reference } from "../reference.js";
import { RegistryAuth, unauthorizedError } from "./auth.js";
import { DockerCredentialStore, type CredentialStore } from "./credentials.js";
import { endpointsFor, resolveMirrors, upstreamFallbackFromEnv, type RegistryEndpoint, type RegistryMirrors } from "./endpoints.js";
import { readVerified, sha256Digest, verifyStream, type ExpectedContent } from "./verified-stream.js";

export interface RegistryClientOptions {
  /** Spawns docker credential helpers. */
  runner: ProcessRunner;
  /** Mirrors per registry domain, tried before it; merged with SVCD_REGISTRY_MIRRORS from `env`. */
  mirrors?: RegistryMirrors;
  /** Source of SVCD_REGISTRY_MIRRORS, DOCKER_CONFIG, HOME, PATH; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Where credentials come from; default docker's config.json and credential helpers. */
  credentials?: CredentialStore;
  /** Try the registry itself when every mirror said NOT_FOUND or was unreachable (default true). */
  upstreamFallback?: boolean;
  fetch?: typeof fetch;
}

/** A reference resolved to the descriptor of its manifest or index, and the endpoint that answered. */
export interface ResolvedImage {
  ref: Reference;
  endpoint: RegistryEndpoint;
  descriptor: Descriptor;
}

const REGISTRY_NOT_FOUND = new Set(["MANIFEST_UNKNOWN", "NAME_UNKNOWN", "BLOB_UNKNOWN", "NOT_FOUND"]);
const REGISTRY_DENIED = new Set(["UNAUTHORIZED", "DENIED"]);
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_SOCKET"]);

function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && NETWORK_CODES.has(code)) return code;
  }
  return undefined;
}

async function registryErrorCodes(res: Response): Promise<string[]> {
  try {
    const text = await res.text();
    const json = JSON.parse(text.slice(0, 64 * 1024)) as { errors?: { code?: unknown }[] };
    return (json.errors ?? []).map((e) => (typeof e.code === "string" ? e.code : "")).filter(Boolean);
  } catch {
    return [];
  }
}

/** One client per pull (or per engine): it caches tokens and manifest bodies fetched while resolving. */
export class RegistryClient {
  private readonly mirrors: Record<string, string[]>;
  private readonly upstreamFallback: boolean;
  private readonly fetchFn: typeof fetch;
  private readonly auth: RegistryAuth;
  private readonly bodies = new Map<string, Buffer>();
  private readonly log = debug("image");

  constructor(options: RegistryClientOptions) {
    const env = options.env ?? process.env;
    this.mirrors = resolveMirrors(options.mirrors, env);
    this.upstreamFallback = options.upstreamFallback ?? upstreamFallbackFromEnv(env);
    this.fetchFn = options.fetch ?? fetch;
    const credentials = options.credentials ?? new DockerCredentialStore({ runner: options.runner, env });
    this.auth = new RegistryAuth({ credentials, fetch: this.fetchFn });
  }

  /** The endpoints tried for a reference, in order. */
  endpoints(ref: Reference): RegistryEndpoint[] {
    return endpointsFor(ref.domain, this.mirrors, this.upstreamFallback);
  }

  /**
   * Resolves a tag or digest with HEAD (GET and hash when the registry omits the digest). Mirrors are tried in
   * order; NOT_FOUND and UNAVAILABLE move on to the next endpoint, anything else stops.
   */
  async resolve(ref: Reference, signal?: AbortSignal): Promise<ResolvedImage> {
    const errors: ImageError[] = [];
    for (const endpoint of this.endpoints(ref)) {
      try {
        const descriptor = await this.resolveAt(ref, endpoint, signal);
        this.log("resolved %s at %s → %s %s", ref.toString(), endpoint.origin, descriptor.mediaType, descriptor.digest);
        return { ref, endpoint, descriptor };
      } catch (err) {
        if (err instanceof ImageError && (err.code === "NOT_FOUND" || err.code === "UNAVAILABLE")) {
          this.log("%s at %s: %s", ref.toString(), endpoint.origin, err.message);
          errors.push(err);
          continue;
        }
        throw err;
      }
    }
    // Prefer a definite answer (not found) over an unreachable fallback.
    const best = errors.find((e) => e.code === "NOT_FOUND") ?? errors[0];
    if (errors.length > 1 && best) {
      const detail = errors.map((e) => e.message).join("; ");
      throw new ImageError(best.code as "NOT_FOUND" | "UNAVAILABLE", ref.toString(), `image ${ref.toString()}: ${detail}`, { cause: best });
    }
    throw best ?? new ImageError("NOT_FOUND", ref.toString(), `image ${ref.toString()}: no registry endpoint`);
  }

  /** A manifest or index body, verified against its descriptor (from the resolve cache when fetched already). */
  async fetchManifest(image: ResolvedImage, descriptor: Descriptor, signal?: AbortSignal): Promise<Buffer> {
    const cached = this.bodies.get(descriptor.digest);
    if (cached && cached.length === descriptor.size) return cached;
    if (descriptor.size > MAX_MANIFEST_BYTES) throw new ImageError("INTERNAL", image.ref.toString(), `image ${image.ref.toString()}: manifest ${descriptor.digest} is too large (${descriptor.size} bytes)`);
    const res = await this.request(image.ref, image.endpoint, "GET", `manifests/${descriptor.digest}`, MANIFEST_ACCEPT.join(", "), signal);
    return this.readBody(res, descriptor, image.ref, signal);
  }

  /** A small blob (an image config) in memory, verified. */
  async fetchBlobBuffer(image: ResolvedImage, descriptor: Descriptor, signal?: AbortSignal): Promise<Buffer> {
    if (descriptor.size > MAX_MANIFEST_BYTES) throw new ImageError("INTERNAL", image.ref.toString(), `image ${image.ref.toString()}: blob ${descriptor.digest} is too large to read into memory`);
    const res = await this.request(image.ref, image.endpoint, "GET", `blobs/${descriptor.digest}`, "*/*", signal);
    return this.readBody(res, descriptor, image.ref, signal);
  }

  /**
   * Opens a blob: HTTP errors surface here; the returned stream verifies digest and size as it is read, and throws
   * DIGEST_MISMATCH before its end when they differ.
   */
  async openBlob(image: ResolvedImage, descriptor: Descriptor, signal?: AbortSignal, onChunk?: (current: number) => void): Promise<AsyncIterable<Buffer>> {
    const res = await this.request(image.ref, image.endpoint, "GET", `blobs/${descriptor.digest}`, "*/*", signal);
    if (!res.body) throw new ImageError("DIGEST_MISMATCH", image.ref.toString(), `image ${image.ref.toString()}: empty answer for ${descriptor.digest}`);
    return this.cancellable(verifyStream(bodyOf(res), descriptor, image.ref.toString(), onChunk), signal, image.ref);
  }

  private async resolveAt(ref: Reference, endpoint: RegistryEndpoint, signal?: AbortSignal): Promise<Descriptor> {
    const accept = MANIFEST_ACCEPT.join(", ");
    const path = `manifests/${ref.manifestReference}`;
    const head = await this.request(ref, endpoint, "HEAD", path, accept, signal, true);
    if (head) {
      const digest = head.headers.get("docker-content-digest") ?? ref.digest;
      const mediaType = bareMediaType(head.headers.get("content-type"));
      const size = Number(head.headers.get("content-length") ?? NaN);
      if (digest && mediaType && mediaType !== "application/json" && Number.isSafeInteger(size) && size > 0) {
        if (ref.digest && digest !== ref.digest) {
          throw new ImageError("DIGEST_MISMATCH", ref.toString(), `image ${ref.toString()}: registry ${endpoint.host} answered digest ${digest}`);
        }
        checkSupportedTopLevel(mediaType, ref.toString());
        return { mediaType, digest, size };
      }
    }
    // No usable HEAD answer: GET the manifest and hash it ourselves.
    const res = await this.request(ref, endpoint, "GET", path, accept, signal);
    const body = await this.readLimited(res, ref, signal);
    const digest = ref.digest ?? sha256Digest(body);
    const given = res.headers.get("docker-content-digest");
    if (given && given !== digest && given.startsWith("sha256:")) {
      throw new ImageError("DIGEST_MISMATCH", ref.toString(), `image ${ref.toString()}: registry ${endpoint.host} claims ${given}, content hashes to ${digest}`);
    }
    let mediaType = bareMediaType(res.headers.get("content-type"));
    try {
      const own = (JSON.parse(body.toString("utf8")) as { mediaType?: unknown }).mediaType;
      if (typeof own === "string") mediaType = own;
    } catch {
      // parsed (and rejected) properly later
    }
    checkSupportedTopLevel(mediaType, ref.toString());
    const descriptor = { mediaType, digest, size: body.length };
    await readVerified([body], descriptor, ref.toString()); // a pinned digest must match what came
    this.bodies.set(digest, body);
    return descriptor;
  }

  private async readLimited(res: Response, ref: Reference, signal?: AbortSignal): Promise<Buffer> {
    const parts: Buffer[] = [];
    let total = 0;
    for await (const chunk of this.cancellable(res.body as AsyncIterable<Uint8Array>, signal, ref)) {
      total += chunk.byteLength;
      if (total > MAX_MANIFEST_BYTES) throw new ImageError("INTERNAL", ref.toString(), `image ${ref.toString()}: manifest larger than ${MAX_MANIFEST_BYTES} bytes`);
      parts.push(Buffer.from(chunk));
    }
    return Buffer.concat(parts);
  }

  private async readBody(res: Response, expected: ExpectedContent, ref: Reference, signal?: AbortSignal): Promise<Buffer> {
    if (!res.body) return readVerified([], expected, ref.toString());
    return readVerified(this.cancellable(res.body as AsyncIterable<Uint8Array>, signal, ref), expected, ref.toString());
  }

  /** Turns an abort while streaming into CancelledError (fetch throws a DOMException AbortError). */
  private async *cancellable<T>(source: AsyncIterable<T>, signal: AbortSignal | undefined, ref: Reference): AsyncGenerator<T> {
    try {
      yield* source;
    } catch (err) {
      if (signal?.aborted) throw new CancelledError(`pull of ${ref.toString()} cancelled`, { cause: signal.reason });
      if (SvcdError.is(err)) throw err;
      throw new ImageError("UNAVAILABLE", ref.toString(), `image ${ref.toString()}: connection lost while downloading: ${(err as Error).message}`, { cause: err });
    }
  }

  /** One request with auth; `optional` returns undefined instead of throwing for a HEAD the registry refuses. */
  private async request(ref: Reference, endpoint: RegistryEndpoint, method: "GET" | "HEAD", path: string, accept: string, signal: AbortSignal | undefined, optional: true): Promise<Response | undefined>;
  private async request(ref: Reference, endpoint: RegistryEndpoint, method: "GET" | "HEAD", path: string, accept: string, signal?: AbortSignal): Promise<Response>;
  private async request(ref: Reference, endpoint: RegistryEndpoint, method: "GET" | "HEAD", path: string, accept: string, signal?: AbortSignal, optional = false): Promise<Response | undefined> {
    const name = ref.toString();
    const url = `${endpoint.origin}/v2/${ref.path}/${path}`;
    const scope = `repository:${ref.path}:pull`;
    let authorization = this.auth.cached(endpoint.host, scope);
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { accept };
      if (authorization) headers.authorization = authorization;
      let res: Response;
      try {
        res = await this.fetchFn(url, { method, headers, signal, redirect: "follow" });
      } catch (err) {
        if (signal?.aborted) throw new CancelledError(`pull of ${name} cancelled`, { cause: signal.reason });
        const code = networkCode(err);
        throw new ImageError("UNAVAILABLE", name, `image ${name}: registry ${endpoint.origin} is unreachable (${code ?? (err as Error).message})`, { cause: err });
      }
      this.log("%s %s → %d", method, url, res.status);
      if (res.ok) return res;
      const codes = method === "HEAD" ? [] : await registryErrorCodes(res);
      if (method === "HEAD") await res.body?.cancel();
      if (res.status === 401 && attempt === 0) {
        if (authorization) this.auth.forget(endpoint.host, scope);
        authorization = await this.auth.answer(name, endpoint.host, scope, res.headers.get("www-authenticate"), signal);
        continue;
      }
      if (res.status === 401 || res.status === 403 || codes.some((c) => REGISTRY_DENIED.has(c))) {
        this.auth.forget(endpoint.host, scope);
        throw unauthorizedError(name, endpoint.host, `HTTP ${res.status}${codes.length ? " " + codes.join(",") : ""}`);
      }
      if (res.status === 404 || codes.some((c) => REGISTRY_NOT_FOUND.has(c))) {
        throw new ImageError("NOT_FOUND", name, `image ${name}: ${path.startsWith("blobs/") ? "blob " + path.slice(6) : "manifest"} not found at ${endpoint.origin}`);
      }
      if (optional && (res.status === 405 || res.status === 400)) return undefined;
      if (res.status === 429 || res.status >= 500) {
        throw new ImageError("UNAVAILABLE", name, `image ${name}: registry ${endpoint.origin} answered HTTP ${res.status}${res.status === 429 ? " (rate limited)" : ""}`);
      }
      throw new ImageError("INTERNAL", name, `image ${name}: registry ${endpoint.origin} answered HTTP ${res.status} to ${method} ${path}`);
    }
  }
}

/**
 * The body of `res`, holding `res` until the last chunk: undici cancels the body of a Response it finds garbage
 * collected while the stream is not yet read (nodejs/undici#3199), and the stream then just ends — an empty layer,
 * seen as "ended after 0 of … bytes" when a pull's layers wait for containerd before their bytes are read.
 */
async function* bodyOf(res: Response): AsyncGenerator<Uint8Array> {
  yield* res.body as AsyncIterable<Uint8Array>;
}
