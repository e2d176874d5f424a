import { test } from "uvu";
import * as assert from "uvu/assert";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ImageError } from "../../../src/common/errors.js";
import { HostProcessRunner } from "../../../src/common/process-runner.js";
import { parseReference } from "../../../src/image/reference.js";
import { RegistryClient } from "../../../src/image/registry/registry-client.js";
import { FakeRegistry, type FakeRegistryOptions } from "./helpers/fake-registry.js";
import { tinyImage } from "./helpers/tiny-image.js";

const runner = new HostProcessRunner();
const img = tinyImage([{ "hello.txt": "hello\n" }]);
let tmp = "";

async function withRegistry(opts: FakeRegistryOptions, fn: (reg: FakeRegistry) => Promise<void>): Promise<void> {
  const reg = await new FakeRegistry(opts).start();
  reg.put("team/app", img.manifest, ["v1"], img.blobs.values());
  try {
    await fn(reg);
  } finally {
    await reg.stop();
  }
}

async function dockerConfig(name: string, config: unknown): Promise<string> {
  const dir = join(tmp, name);
  await rm(dir, { recursive: true, force: true });
  await import("node:fs/promises").then((fs) => fs.mkdir(dir, { recursive: true }));
  await writeFile(join(dir, "config.json"), JSON.stringify(config));
  return dir;
}

async function expectImageError(p: Promise<unknown>, code: string, message?: RegExp): Promise<ImageError> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, ImageError, String(err));
    assert.is((err as ImageError).code, code, (err as Error).message);
    if (message) assert.match((err as Error).message, message);
    return err as ImageError;
  }
  throw new Error(`expected ImageError ${code}`);
}

async function drain(it: AsyncIterable<Buffer>): Promise<number> {
  let n = 0;
  for await (const c of it) n += c.length;
  return n;
}

test.before(async () => {
  tmp = await mkdtemp(join(tmpdir(), "svcd-image-test-"));
  // A fake docker-credential-test helper: knows one server, answers like the real ones otherwise.
  await writeFile(
    join(tmp, "docker-credential-test"),
    `#!/bin/sh
read server
case "$server" in
  127.0.0.1:*) printf '{"ServerURL":"%s","Username":"alice","Secret":"s3cret"}\\n' "$server" ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`,
  );
  await chmod(join(tmp, "docker-credential-test"), 0o755);
});

test.after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test("resolves with HEAD and fetches verified content (no auth)", async () => {
  await withRegistry({}, async (reg) => {
    const client = new RegistryClient({ runner, env: {} });
    const ref = parseReference(`${reg.host}/team/app:v1`);
    const resolved = await client.resolve(ref);
    assert.equal(resolved.descriptor, { mediaType: img.manifest.mediaType, digest: img.manifest.digest, size: img.manifest.size });
    assert.is(reg.requests.filter((r) => r.method === "GET").length, 0, "resolve is a HEAD only");
    const body = await client.fetchManifest(resolved, resolved.descriptor);
    assert.ok(body.equals(img.manifest.data));
    const layer = img.layers[0]!;
    const seen: number[] = [];
    assert.is(await drain(await client.openBlob(resolved, layer, undefined, (n) => seen.push(n))), layer.size);
    assert.is(seen[seen.length - 1], layer.size);
  });
});

test("GETs and hashes the manifest when HEAD gives no digest", async () => {
  await withRegistry({}, async (reg) => {
    reg.omitDigestHeader = true;
    const client = new RegistryClient({ runner, env: {} });
    const resolved = await client.resolve(parseReference(`${reg.host}/team/app:v1`));
    assert.is(resolved.descriptor.digest, img.manifest.digest);
    const gets = reg.requests.filter((r) => r.method === "GET").length;
    await client.fetchManifest(resolved, resolved.descriptor);
    assert.is(reg.requests.filter((r) => r.method === "GET").length, gets, "the body fetched while resolving is reused");
  });
});

test("bearer auth with credentials from config.json auths (base64 auth)", async () => {
  await withRegistry({ auth: "bearer" }, async (reg) => {
    const DOCKER_CONFIG = await dockerConfig("auths", { auths: { [`http://${reg.host}`]: { auth: Buffer.from("alice:s3cret").toString("base64") } } });
    const client = new RegistryClient({ runner, env: { DOCKER_CONFIG } });
    const resolved = await client.resolve(parseReference(`${reg.host}/team/app:v1`));
    assert.is(resolved.descriptor.digest, img.manifest.digest);
    await client.fetchManifest(resolved, resolved.descriptor);
    const tokenReqs = reg.requests.filter((r) => r.url.startsWith("/token"));
    assert.is(tokenReqs.length, 1, "the token is cached for the next request");
    assert.match(tokenReqs[0]!.url, /scope=repository%3Ateam%2Fapp%3Apull/);
    assert.is(reg.requests[reg.requests.length - 1]!.authorization, "Bearer tok-ok");
  });
});

test("bearer auth with username/password entry and an access_token answer", async () => {
  await withRegistry({ auth: "bearer", tokenField: "access_token" }, async (reg) => {
    const DOCKER_CONFIG = await dockerConfig("userpass", { auths: { [reg.host]: { username: "alice", password: "s3cret" } } });
    const client = new RegistryClient({ runner, env: { DOCKER_CONFIG } });
    assert.is((await client.resolve(parseReference(`${reg.host}/team/app:v1`))).descriptor.digest, img.manifest.digest);
  });
});

test("anonymous bearer token when the registry allows it", async () => {
  await withRegistry({ auth: "bearer", anonymousToken: true }, async (reg) => {
    const client = new RegistryClient({ runner, env: { DOCKER_CONFIG: join(tmp, "none") } });
    assert.is((await client.resolve(parseReference(`${reg.host}/team/app:v1`))).descriptor.digest, img.manifest.digest);
  });
});

test("basic auth through a credHelpers entry (docker-credential-test on PATH)", async () => {
  await withRegistry({ auth: "basic" }, async (reg) => {
    const DOCKER_CONFIG = await dockerConfig("helpers", { credHelpers: { [reg.host]: "test" } });
    const client = new RegistryClient({ runner, env: { DOCKER_CONFIG, PATH: `${tmp}:${process.env.PATH}` } });
    const resolved = await client.resolve(parseReference(`${reg.host}/team/app:v1`));
    assert.is(await drain(await client.openBlob(resolved, img.config)), img.config.size);
    assert.is(reg.requests[reg.requests.length - 1]!.authorization, "Basic " + Buffer.from("alice:s3cret").toString("base64"));
  });
});

test("bearer auth through credsStore", async () => {
  await withRegistry({ auth: "bearer" }, async (reg) => {
    const DOCKER_CONFIG = await dockerConfig("store", { credsStore: "test", auths: { [reg.host]: {} } });
    const client = new RegistryClient({ runner, env: { DOCKER_CONFIG, PATH: `${tmp}:${process.env.PATH}` } });
    assert.is((await client.resolve(parseReference(`${reg.host}/team/app:v1`))).descriptor.digest, img.manifest.digest);
  });
});

test("no usable credentials → UNAUTHORIZED naming the registry and docker login", async () => {
  await withRegistry({ auth: "bearer" }, async (reg) => {
    const client = new RegistryClient({ runner, env: { DOCKER_CONFIG: join(tmp, "none") } });
    await expectImageError(client.resolve(parseReference(`${reg.host}/team/app:v1`)), "UNAUTHORIZED", new RegExp(`${reg.host}.*docker login ${reg.host}`));
  });
  await withRegistry({ auth: "basic" }, async (reg) => {
    const DOCKER_CONFIG = await dockerConfig("wrong", { auths: { [reg.host]: { username: "alice", password: "wrong" } } });
    const client = new RegistryClient({ runner, env: { DOCKER_CONFIG } });
    await expectImageError(client.resolve(parseReference(`${reg.host}/team/app:v1`)), "UNAUTHORIZED", /docker login/);
  });
});

test("a failing credential helper is reported, not ignored", async () => {
  await withRegistry({ auth: "basic" }, async (reg) => {
    const DOCKER_CONFIG = await dockerConfig("missing-helper", { credHelpers: { [reg.host]: "does-not-exist" } });
    const client = new RegistryClient({ runner, env: { DOCKER_CONFIG, PATH: tmp } });
    await expectImageError(client.resolve(parseReference(`${reg.host}/team/app:v1`)), "UNAUTHORIZED", /docker-credential-does-not-exist/);
  });
});

test("unknown tag or repository → NOT_FOUND", async () => {
  await withRegistry({}, async (reg) => {
    const client = new RegistryClient({ runner, env: {} });
    await expectImageError(client.resolve(parseReference(`${reg.host}/team/app:nope`)), "NOT_FOUND");
    await expectImageError(client.resolve(parseReference(`${reg.host}/nobody/here`)), "NOT_FOUND");
    const resolved = await client.resolve(parseReference(`${reg.host}/team/app:v1`));
    await expectImageError(client.openBlob(resolved, { ...img.config, digest: "sha256:" + "0".repeat(64) }), "NOT_FOUND");
  });
});

test("connection refused → UNAVAILABLE", async () => {
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const client = new RegistryClient({ runner, env: {} });
  await expectImageError(client.resolve(parseReference(`127.0.0.1:${port}/team/app:v1`)), "UNAVAILABLE", /unreachable/);
});

test("mirrors are tried first and fall back on NOT_FOUND", async () => {
  await withRegistry({}, async (upstream) => {
    const mirror = await new FakeRegistry().start();
    try {
      const client = new RegistryClient({ runner, env: {}, mirrors: { [upstream.host]: mirror.origin } });
      const resolved = await client.resolve(parseReference(`${upstream.host}/team/app:v1`));
      assert.is(resolved.endpoint.origin, upstream.origin);
      assert.is(mirror.requests.length, 1, "the mirror was asked first");
      mirror.put("team/app", img.manifest, ["v1"], img.blobs.values());
      const again = await new RegistryClient({ runner, env: { SVCD_REGISTRY_MIRRORS: `${upstream.host}=${mirror.origin}` } }).resolve(parseReference(`${upstream.host}/team/app:v1`));
      assert.is(again.endpoint.origin, mirror.origin);
      assert.ok(again.endpoint.mirror);
      const noFallback = new RegistryClient({ runner, env: {}, mirrors: { [upstream.host]: mirror.origin }, upstreamFallback: false });
      await expectImageError(noFallback.resolve(parseReference(`${upstream.host}/team/app:v2`)), "NOT_FOUND");
    } finally {
      await mirror.stop();
    }
  });
});

test("a blob whose bytes do not match its digest fails while streaming", async () => {
  await withRegistry({}, async (reg) => {
    const layer = img.layers[0]!;
    const client = new RegistryClient({ runner, env: {} });
    const resolved = await client.resolve(parseReference(`${reg.host}/team/app:v1`));
    const flipped = Buffer.from(layer.data);
    flipped[flipped.length - 1] ^= 0xff;
    reg.corrupt.set(layer.digest, flipped);
    await expectImageError(drain(await client.openBlob(resolved, layer)), "DIGEST_MISMATCH", /does not match/);
    reg.corrupt.set(layer.digest, Buffer.concat([layer.data, Buffer.from("more")]));
    await expectImageError(drain(await client.openBlob(resolved, layer)), "DIGEST_MISMATCH", /longer/);
    reg.corrupt.set(layer.digest, layer.data.subarray(0, 10));
    await expectImageError(drain(await client.openBlob(resolved, layer)), "DIGEST_MISMATCH", /ended after 10/);
    reg.corrupt.set(img.config.digest, Buffer.from("{}"));
    await expectImageError(client.fetchBlobBuffer(resolved, img.config), "DIGEST_MISMATCH");
  });
});

test("a pinned digest the registry contradicts is refused", async () => {
  await withRegistry({}, async (reg) => {
    const other = "sha256:" + "1".repeat(64);
    reg.manifests.set(`team/app:${other}`, img.manifest); // serves a manifest whose digest is not `other`
    const client = new RegistryClient({ runner, env: {} });
    await expectImageError(client.resolve(parseReference(`${reg.host}/team/app@${other}`)), "DIGEST_MISMATCH");
    reg.omitDigestHeader = true;
    // Without the header, HEAD trusts the pinned digest; the content is then checked against it when fetched.
    const resolved = await client.resolve(parseReference(`${reg.host}/team/app@${other}`));
    await expectImageError(client.fetchManifest(resolved, resolved.descriptor), "DIGEST_MISMATCH");
  });
});

test("an abort before or during a download is CancelledError", async () => {
  await withRegistry({}, async (reg) => {
    const client = new RegistryClient({ runner, env: {} });
    const ref = parseReference(`${reg.host}/team/app:v1`);
    const aborted = AbortSignal.abort(new Error("stop"));
    try {
      await client.resolve(ref, aborted);
      assert.unreachable();
    } catch (err) {
      assert.is((err as { code?: string }).code, "CANCELLED");
    }
    const resolved = await client.resolve(ref);
    const ac = new AbortController();
    const stream = await client.openBlob(resolved, img.layers[0]!, ac.signal);
    ac.abort();
    try {
      await drain(stream);
      assert.unreachable();
    } catch (err) {
      assert.is((err as { code?: string }).code, "CANCELLED");
    }
  });
});

test.run();
