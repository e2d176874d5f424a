// A test image made from one of the rig's images with a changed config (a HEALTHCHECK, say), pushed into the run's
// local registry (SVCD_TEST_REGISTRY) through the registry API: its layers are mounted from the base repository, so
// nothing is rebuilt or copied, and scripts/test-images.sh's cached set stays as it is. Loopback only.
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { InternalError } from "../../src/common/errors.js";
import type { TestImage } from "./registry.js";

const MANIFEST_TYPES = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
];

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

interface Manifest {
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  manifests?: Descriptor[];
}

function registryUrl(env: NodeJS.ProcessEnv): string {
  const host = env.SVCD_TEST_REGISTRY;
  if (!host || !/^(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(host)) {
    throw new InternalError(`SVCD_TEST_REGISTRY ${JSON.stringify(host)} is not a loopback registry: run through scripts/run-tests.mjs`);
  }
  return `http://${host}`;
}

async function ok(res: Response, what: string, statuses: number[] = [200]): Promise<Response> {
  if (!statuses.includes(res.status)) throw new InternalError(`${what}: HTTP ${res.status} ${await res.text()}`);
  return res;
}

async function getManifest(base: string, repo: string, ref: string): Promise<{ manifest: Manifest; mediaType: string }> {
  const res = await ok(await fetch(`${base}/v2/${repo}/manifests/${ref}`, { headers: { Accept: MANIFEST_TYPES.join(", ") } }), `GET ${repo} manifest ${ref}`);
  const mediaType = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
  const manifest = (await res.json()) as Manifest;
  const type = manifest.mediaType ?? mediaType;
  if (type.includes("index") || type.includes("manifest.list")) return getManifest(base, repo, manifest.manifests![0]!.digest);
  return { manifest, mediaType: type };
}

/** Uploads one blob in a single PUT (the registry's monolithic upload). */
async function putBlob(base: string, repo: string, bytes: Buffer, digest: string): Promise<void> {
  const started = await ok(await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: "POST" }), `start upload to ${repo}`, [202]);
  const location = new URL(started.headers.get("location")!, base);
  location.searchParams.set("digest", digest);
  await ok(await fetch(location, { method: "PUT", body: bytes, headers: { "Content-Type": "application/octet-stream" } }), `upload ${digest}`, [201]);
}

/**
 * Pushes `library/<name>:<tag>`: the image `from` with its config changed by `edit` (which gets the whole config
 * blob: edit `blob.config.Healthcheck` and so on). Returns the reference to use with the docker.io mirror: `<name>:<tag>`.
 */
export async function pushDerivedImage(opts: {
  from: TestImage;
  name: string;
  tag: string;
  edit: (blob: Record<string, any>) => void;
  /** A layer added on top: an uncompressed tar, pushed gzip'd (so a pull has something of its own to download). */
  extraLayerTar?: Buffer;
  env?: NodeJS.ProcessEnv;
}): Promise<string> {
  const base = registryUrl(opts.env ?? process.env);
  const source = `library/${opts.from}`;
  const target = `library/${opts.name}`;
  const { manifest, mediaType } = await getManifest(base, source, "latest");
  const configRes = await ok(await fetch(`${base}/v2/${source}/blobs/${manifest.config.digest}`), `GET ${source} config`);
  const blob = (await configRes.json()) as Record<string, any>;
  opts.edit(blob);
  for (const layer of manifest.layers) {
    const mounted = await fetch(`${base}/v2/${target}/blobs/uploads/?mount=${encodeURIComponent(layer.digest)}&from=${encodeURIComponent(source)}`, { method: "POST" });
    if (mounted.status === 201) continue;
    await mounted.body?.cancel();
    // No cross-repository mount: copy the layer.
    const bytes = Buffer.from(await (await ok(await fetch(`${base}/v2/${source}/blobs/${layer.digest}`), `GET layer ${layer.digest}`)).arrayBuffer());
    await putBlob(base, target, bytes, layer.digest);
  }
  const layers = [...manifest.layers];
  if (opts.extraLayerTar) {
    const gz = gzipSync(opts.extraLayerTar);
    const digest = `sha256:${createHash("sha256").update(gz).digest("hex")}`;
    await putBlob(base, target, gz, digest);
    layers.push({ mediaType: manifest.layers[0]?.mediaType ?? "application/vnd.oci.image.layer.v1.tar+gzip", digest, size: gz.length });
    blob.rootfs.diff_ids.push(`sha256:${createHash("sha256").update(opts.extraLayerTar).digest("hex")}`);
  }
  const configBytes = Buffer.from(JSON.stringify(blob));
  const configDigest = `sha256:${createHash("sha256").update(configBytes).digest("hex")}`;
  await putBlob(base, target, configBytes, configDigest);
  const next: Manifest = { ...manifest, layers, config: { ...manifest.config, digest: configDigest, size: configBytes.length } };
  await ok(
    await fetch(`${base}/v2/${target}/manifests/${opts.tag}`, { method: "PUT", body: JSON.stringify(next), headers: { "Content-Type": mediaType } }),
    `PUT ${target}:${opts.tag}`,
    [201],
  );
  return `${opts.name}:${opts.tag}`;
}
