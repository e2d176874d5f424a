// Answers a registry's 401: a Bearer challenge gets a token from the realm (anonymous, Basic-authenticated, or an
// OAuth refresh with an identity token); a Basic challenge gets the stored user and password. Tokens are cached
// per host and scope for this client's lifetime (or until they expire).
import { CancelledError, ImageError, SvcdError } from "../../common/errors.js";
import { debug } from "../../common/debug.js";
import type { CredentialStore, RegistryCredentials } from "./credentials.js";
import { validateRegistryUrl } from "./endpoints.js";
import { parseWwwAuthenticate, type AuthChallenge } from "./www-authenticate.js";

export interface RegistryAuthOptions {
  credentials: CredentialStore;
  fetch?: typeof fetch;
  /** Injectable clock for token expiry. */
  now?: () => number;
}

interface CachedToken {
  header: string;
  expiresAt: number;
}

const TOKEN_CLIENT_ID = "svcd";

function basicHeader(username: string, password: string): string {
  return "Basic " + Buffer.from(`${username}:${password}`, "utf8").toString("base64");
}

/** The message every unauthorised pull ends with. */
export function unauthorizedError(ref: string, host: string, why: string, cause?: unknown): ImageError {
  return new ImageError(
    "UNAUTHORIZED",
    ref,
    `image ${ref}: registry ${host} refused access (${why}); if the image is private, run \`docker login ${host}\``,
    cause === undefined ? undefined : { cause },
  );
}

/** Token cache + challenge answering for one registry client. */
export class RegistryAuth {
  private readonly credentials: CredentialStore;
  private readonly fetchFn: typeof fetch;
  private readonly now: () => number;
  private readonly tokens = new Map<string, CachedToken>();
  private readonly log = debug("image");

  constructor(options: RegistryAuthOptions) {
    this.credentials = options.credentials;
    this.fetchFn = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
  }

  /** A cached Authorization header for this host and scope, if one is still valid. */
  cached(host: string, scope: string): string | undefined {
    const hit = this.tokens.get(`${host} ${scope}`);
    if (hit && hit.expiresAt > this.now()) return hit.header;
    return undefined;
  }

  /**
   * Works out an Authorization header for a 401 answer. Throws ImageError UNAUTHORIZED when no challenge can be
   * met (no credentials for Basic, the token server refused, …).
   */
  async answer(ref: string, host: string, scope: string, wwwAuthenticate: string | null, signal?: AbortSignal): Promise<string> {
    const challenges = parseWwwAuthenticate(wwwAuthenticate);
    const bearer = challenges.find((c) => c.scheme === "bearer" && c.params.realm);
    const basic = challenges.find((c) => c.scheme === "basic");
    const creds = await this.credentials.get(host, signal);
    let header: string;
    let ttlMs = 60_000;
    if (bearer) {
      const token = await this.fetchToken(ref, host, scope, bearer, creds, signal);
      header = `Bearer ${token.token}`;
      ttlMs = Math.max(10, token.expiresIn - 10) * 1000;
    } else if (basic) {
      if (!creds?.username) throw unauthorizedError(ref, host, "basic authentication required and no credentials found");
      header = basicHeader(creds.username, creds.password ?? "");
      ttlMs = Number.POSITIVE_INFINITY;
    } else {
      throw unauthorizedError(ref, host, `unsupported authentication challenge ${JSON.stringify(wwwAuthenticate ?? "")}`);
    }
    this.tokens.set(`${host} ${scope}`, { header, expiresAt: this.now() + ttlMs });
    return header;
  }

  /** Forget a header the registry refused, so the next attempt asks again. */
  forget(host: string, scope: string): void {
    this.tokens.delete(`${host} ${scope}`);
  }

  private async fetchToken(
    ref: string,
    host: string,
    scope: string,
    challenge: AuthChallenge,
    creds: RegistryCredentials | undefined,
    signal?: AbortSignal,
  ): Promise<{ token: string; expiresIn: number }> {
    let realm: URL;
    try {
      realm = new URL(validateRegistryUrl(new URL(challenge.params.realm!).origin, "token realm"));
      const given = new URL(challenge.params.realm!);
      realm.pathname = given.pathname;
      realm.search = given.search;
    } catch (err) {
      throw unauthorizedError(ref, host, `unusable token realm ${JSON.stringify(challenge.params.realm)}`, err);
    }
    const scopes = [scope];
    if (challenge.params.scope && challenge.params.scope !== scope) scopes.push(...challenge.params.scope.split(" ").filter((s) => s && s !== scope));
    const service = challenge.params.service;
    let res: Response;
    try {
      if (creds?.identityToken) {
        // OAuth2 refresh-token grant, as the docker CLI does after an SSO login.
        const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: creds.identityToken, client_id: TOKEN_CLIENT_ID });
        if (service) form.set("service", service);
        form.set("scope", scopes.join(" "));
        res = await this.fetchFn(realm, { method: "POST", body: form, signal, headers: { "content-type": "application/x-www-form-urlencoded" } });
      } else {
        const url = new URL(realm);
        if (service) url.searchParams.set("service", service);
        for (const s of scopes) url.searchParams.append("scope", s);
        const headers: Record<string, string> = {};
        if (creds?.username) {
          url.searchParams.set("account", creds.username);
          headers.authorization = basicHeader(creds.username, creds.password ?? "");
        }
        res = await this.fetchFn(url, { headers, signal });
      }
    } catch (err) {
      if (signal?.aborted) throw new CancelledError(`pull of ${ref} cancelled`, { cause: signal.reason });
      if (SvcdError.is(err)) throw err;
      throw new ImageError("UNAVAILABLE", ref, `image ${ref}: token server ${realm.host} unreachable: ${(err as Error).message}`, { cause: err });
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw unauthorizedError(ref, host, creds ? "the token server rejected the stored credentials" : "anonymous access denied and no credentials found");
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new ImageError("UNAVAILABLE", ref, `image ${ref}: token server ${realm.host} answered HTTP ${res.status}`);
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = (await res.json()) as typeof body;
    } catch (err) {
      throw unauthorizedError(ref, host, "the token server sent no JSON", err);
    }
    const token = typeof body.token === "string" && body.token ? body.token : typeof body.access_token === "string" ? body.access_token : "";
    if (!token) throw unauthorizedError(ref, host, "the token server sent no token");
    const expiresIn = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 60;
    this.log("token for %s scope %s (%ds)", host, scopes.join(" "), expiresIn);
    return { token, expiresIn };
  }
}
