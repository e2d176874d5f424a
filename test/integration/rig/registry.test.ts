// The test rig's registry: docker-registry starts on a free loopback port, the cached test images push into it,
// and what it serves is a well-formed image: manifest, config with matching diff_ids, layer blobs by digest.
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { pushTestImages, startRegistry, type RunningRegistry } from "../../rig/registry.js";
import { tarEntries } from "../../rig/tar-entries.js";

const ACCEPT = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
].join(", ");

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}
interface Manifest {
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

let registry: RunningRegistry | undefined;

const sha256 = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

async function get(url: string, accept?: string): Promise<{ status: number; type: string; body: Buffer }> {
  const res = await fetch(url, { headers: accept ? { Accept: accept } : {} });
  return { status: res.status, type: res.headers.get("content-type") ?? "", body: Buffer.from(await res.arrayBuffer()) };
}

async function manifestOf(base: string, name: string): Promise<Manifest> {
  const res = await get(`${base}/v2/library/${name}/manifests/latest`, ACCEPT);
  assert.is(res.status, 200, `manifest of ${name}`);
  assert.ok(/manifest\.v1\+json|manifest\.v2\+json/.test(res.type), `single-platform manifest, got ${res.type}`);
  return JSON.parse(res.body.toString("utf8")) as Manifest;
}

async function blob(base: string, name: string, desc: Descriptor): Promise<Buffer> {
  const res = await get(`${base}/v2/library/${name}/blobs/${desc.digest}`);
  assert.is(res.status, 200, `blob ${desc.digest}`);
  assert.is(res.body.length, desc.size, `size of ${desc.digest}`);
  assert.is(sha256(res.body), desc.digest, `content of ${desc.digest}`);
  return res.body;
}

test.before(async () => {
  registry = await startRegistry();
});

test.after(async () => {
  await registry?.stop();
});

test("the registry answers /v2/ on a loopback port", async () => {
  assert.ok(registry);
  assert.match(registry.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const res = await get(`${registry.url}/v2/`);
  assert.is(res.status, 200);
});

test("pushed images serve a manifest whose config and layers exist as blobs, with matching diff_ids", async () => {
  assert.ok(registry);
  const refs = await pushTestImages(registry.url);
  assert.equal(refs, [`${registry.host}/library/busybox:latest`, `${registry.host}/library/python:latest`, `${registry.host}/library/mariadb-client:latest`]);
  for (const name of ["busybox", "python"]) {
    const manifest = await manifestOf(registry.url, name);
    assert.ok(manifest.layers.length >= 1, `${name} has layers`);
    const config = JSON.parse((await blob(registry.url, name, manifest.config)).toString("utf8"));
    assert.is(config.os, "linux");
    assert.equal(config.rootfs.diff_ids.length, manifest.layers.length);
    for (const [i, layer] of manifest.layers.entries()) {
      assert.match(layer.mediaType, /tar\+gzip|tar\.gzip/);
      const bytes = await blob(registry.url, name, layer);
      assert.is(sha256(gunzipSync(bytes)), config.rootfs.diff_ids[i], `diff_id of ${name} layer ${i}`);
    }
  }
});

test("busybox's layer holds /bin/sh, /etc/passwd with nobody, and /tmp; its config runs sh", async () => {
  assert.ok(registry);
  const manifest = await manifestOf(registry.url, "busybox");
  const config = JSON.parse((await blob(registry.url, "busybox", manifest.config)).toString("utf8"));
  assert.equal(config.config.Cmd, ["sh"]);
  assert.ok(config.config.Env.some((e: string) => e.startsWith("PATH=")));
  const entries = tarEntries(gunzipSync(await blob(registry.url, "busybox", manifest.layers[0]!)));
  const byName = new Map(entries.map((e) => [e.name.replace(/^\.\//, "").replace(/\/$/, ""), e]));
  assert.is(byName.get("bin/busybox")?.type, "0");
  assert.is(byName.get("bin/sh")?.type, "2");
  assert.is(byName.get("bin/sh")?.linkname, "/bin/busybox");
  assert.ok(byName.get("usr/bin/wget"), "wget applet");
  assert.is(byName.get("etc/passwd")?.type, "0");
  assert.is(byName.get("tmp")?.type, "5");
});

test("python's layer holds python3 and the python alias", async () => {
  assert.ok(registry);
  const manifest = await manifestOf(registry.url, "python");
  const names = new Set(
    tarEntries(gunzipSync(await blob(registry.url, "python", manifest.layers[0]!))).map((e) => e.name.replace(/^\.\//, "")),
  );
  assert.ok(names.has("usr/bin/python3"));
  assert.ok(names.has("usr/bin/python"));
});

test("the run's mirror (SVCD_REGISTRY_MIRRORS from run-tests) serves the test images", async () => {
  const mirror = process.env.SVCD_REGISTRY_MIRRORS?.match(/(?:^|,)docker\.io=([^,]+)/)?.[1];
  if (!mirror) return; // run outside scripts/run-tests.mjs
  await manifestOf(mirror.replace(/\/$/, ""), "busybox");
  await manifestOf(mirror.replace(/\/$/, ""), "python");
});

test("stop() ends the registry", async () => {
  assert.ok(registry);
  const url = registry.url;
  await registry.stop();
  registry = undefined;
  await fetch(`${url}/v2/`).then(
    () => assert.unreachable("registry still answers after stop()"),
    () => {},
  );
});

test.run();
