// A tiny OCI distribution server on 127.0.0.1 for tests: manifests and blobs from memory, optional Bearer or Basic
// auth, a request log, and switches to misbehave (corrupt or oversized blobs, no digest header).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Blob } from "./tiny-image.js";

export interface FakeRegistryOptions {
  auth?: "none" | "bearer" | "basic";
  username?: string;
  password?: string;
  /** Token field name the token endpoint answers with. */
  tokenField?: "token" | "access_token";
  /** Bearer: also let anonymous token requests through. */
  anonymousToken?: boolean;
}

export class FakeRegistry {
  readonly requests: { method: string; url: string; authorization?: string }[] = [];
  readonly manifests = new Map<string, Blob>(); // "<repo>:<tag|digest>"
  readonly blobs = new Map<string, Blob>();
  /** digest → bytes served instead of the real ones. */
  readonly corrupt = new Map<string, Buffer>();
  omitDigestHeader = false;
  private server: Server | undefined;
  private readonly opts: Required<FakeRegistryOptions>;
  port = 0;

  constructor(opts: FakeRegistryOptions = {}) {
    this.opts = { auth: "none", username: "alice", password: "s3cret", tokenField: "token", anonymousToken: false, ...opts };
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Publishes a manifest under tags (and its digest) and its blobs. */
  put(repo: string, manifest: Blob, tags: string[], blobs: Iterable<Blob> = []): void {
    for (const t of [...tags, manifest.digest]) this.manifests.set(`${repo}:${t}`, manifest);
    for (const b of blobs) this.blobs.set(b.digest, b);
  }

  blobGets(): number {
    return this.requests.filter((r) => r.method === "GET" && r.url.includes("/blobs/")).length;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.server!.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private authorized(req: IncomingMessage): boolean {
    const h = req.headers.authorization;
    if (this.opts.auth === "none") return true;
    if (this.opts.auth === "basic") return h === "Basic " + Buffer.from(`${this.opts.username}:${this.opts.password}`).toString("base64");
    return h === "Bearer tok-ok";
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", this.origin);
    this.requests.push({ method: req.method ?? "", url: url.pathname + url.search, authorization: req.headers.authorization });
    if (url.pathname === "/token") return this.token(req, url, res);
    if (!this.authorized(req)) {
      const challenge =
        this.opts.auth === "basic"
          ? `Basic realm="fake"`
          : `Bearer realm="${this.origin}/token",service="fake-registry",scope="repository:${url.pathname.split("/").slice(2, -2).join("/")}:pull"`;
      res.writeHead(401, { "www-authenticate": challenge, "content-type": "application/json" });
      res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }));
      return;
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (!m) {
      res.writeHead(url.pathname === "/v2/" ? 200 : 404).end("{}");
      return;
    }
    const [, repo, kind, key] = m as unknown as [string, string, string, string];
    const item = kind === "manifests" ? this.manifests.get(`${repo}:${key}`) : this.blobs.get(key);
    if (!item) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(req.method === "HEAD" ? undefined : JSON.stringify({ errors: [{ code: kind === "manifests" ? "MANIFEST_UNKNOWN" : "BLOB_UNKNOWN" }] }));
      return;
    }
    const data = this.corrupt.get(item.digest) ?? item.data;
    const headers: Record<string, string | number> = { "content-type": item.mediaType, "content-length": data.length };
    if (!this.omitDigestHeader) headers["docker-content-digest"] = item.digest;
    res.writeHead(200, headers);
    res.end(req.method === "HEAD" ? undefined : data);
  }

  private token(req: IncomingMessage, url: URL, res: ServerResponse): void {
    const basic = "Basic " + Buffer.from(`${this.opts.username}:${this.opts.password}`).toString("base64");
    const ok = req.headers.authorization === basic || (this.opts.anonymousToken && !req.headers.authorization);
    if (!ok || url.searchParams.get("service") !== "fake-registry" || !url.searchParams.get("scope")) {
      res.writeHead(401).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ [this.opts.tokenField]: "tok-ok", expires_in: 300 }));
  }
}
