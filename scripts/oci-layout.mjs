#!/usr/bin/env node
// Wraps one uncompressed rootfs tar into a single-layer OCI image layout (index.json + blobs, gzip layer, diff_id),
// so the test images need no registry and no image tool to be built. Used by scripts/test-images.sh.
//
// usage: node scripts/oci-layout.mjs --tar <rootfs.tar> --out <dir> [--tag latest] [--arch amd64]
//          [--cmd '["sh"]'] [--env 'PATH=...']... [--created-by <text>]
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";
import { createGzip } from "node:zlib";

const MEDIA = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar+gzip",
};

function usage(message) {
  process.stderr.write(`oci-layout: ${message}\n`);
  process.exit(2);
}

// A pass-through stream that hashes what flows through it.
function hasher() {
  const hash = createHash("sha256");
  let size = 0;
  const stream = new Transform({
    transform(chunk, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  return { stream, result: () => ({ digest: `sha256:${hash.digest("hex")}`, size }) };
}

// Writes a JSON blob and returns its descriptor.
async function writeJsonBlob(blobDir, mediaType, value) {
  const bytes = Buffer.from(JSON.stringify(value));
  const hex = createHash("sha256").update(bytes).digest("hex");
  await writeFile(join(blobDir, hex), bytes);
  return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
}

async function main() {
  const { values } = parseArgs({
    options: {
      tar: { type: "string" },
      out: { type: "string" },
      tag: { type: "string", default: "latest" },
      arch: { type: "string", default: "amd64" },
      cmd: { type: "string", default: "[]" },
      env: { type: "string", multiple: true, default: [] },
      "created-by": { type: "string", default: "svcd scripts/test-images.sh" },
    },
  });
  if (!values.tar || !values.out) usage("--tar and --out are required");
  let cmd;
  try {
    cmd = JSON.parse(values.cmd);
  } catch {
    usage(`--cmd is not JSON: ${values.cmd}`);
  }
  if (!Array.isArray(cmd) || !cmd.every((a) => typeof a === "string")) usage("--cmd must be a JSON array of strings");
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(values.tag)) usage(`invalid tag ${values.tag}`);
  await stat(values.tar);

  const out = values.out;
  const blobDir = join(out, "blobs", "sha256");
  await rm(out, { recursive: true, force: true });
  await mkdir(blobDir, { recursive: true });

  // One pass: tar → hash (diff_id) → gzip → hash (layer digest) → file.
  const raw = hasher();
  const gz = hasher();
  const tmp = join(blobDir, "layer.tmp");
  await pipeline(createReadStream(values.tar), raw.stream, createGzip({ level: 6 }), gz.stream, createWriteStream(tmp));
  const diffId = raw.result().digest;
  const layer = { mediaType: MEDIA.layer, ...gz.result() };
  await rename(tmp, join(blobDir, layer.digest.slice("sha256:".length)));

  const config = await writeJsonBlob(blobDir, MEDIA.config, {
    created: "1970-01-01T00:00:00Z",
    architecture: values.arch,
    os: "linux",
    config: { Env: values.env, Cmd: cmd },
    rootfs: { type: "layers", diff_ids: [diffId] },
    history: [{ created: "1970-01-01T00:00:00Z", created_by: values["created-by"] }],
  });
  const manifest = await writeJsonBlob(blobDir, MEDIA.manifest, {
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config,
    layers: [layer],
  });
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: [
      {
        ...manifest,
        platform: { architecture: values.arch, os: "linux" },
        annotations: { "org.opencontainers.image.ref.name": values.tag },
      },
    ],
  };
  await writeFile(join(out, "index.json"), JSON.stringify(index));
  await writeFile(join(out, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  process.stdout.write(`${out}: manifest ${manifest.digest}, layer ${layer.digest} (${layer.size} bytes), diff_id ${diffId}\n`);
}

main().catch((err) => {
  process.stderr.write(`oci-layout: ${err.stack ?? err}\n`);
  process.exit(1);
});
