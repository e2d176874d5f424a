// Builds tiny OCI images in memory (a ustar layer, gzipped; config; manifest; optional index) for registry tests.
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";

export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  data: Buffer;
}

export function blob(mediaType: string, data: Buffer): Blob {
  return { mediaType, digest: "sha256:" + createHash("sha256").update(data).digest("hex"), size: data.length, data };
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, "0") + "\0";
}

/** A ustar archive of regular files (and their parent dirs, implied). */
export function tar(files: Record<string, string | Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
    const h = Buffer.alloc(512);
    h.write(name, 0, 100, "utf8");
    h.write(octal(0o644, 8), 100);
    h.write(octal(0, 8), 108);
    h.write(octal(0, 8), 116);
    h.write(octal(data.length, 12), 124);
    h.write(octal(1_700_000_000, 12), 136);
    h.write("        ", 148);
    h.write("0", 156);
    h.write("ustar\0", 257);
    h.write("00", 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
    parts.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export interface TinyImage {
  layers: Blob[];
  diffIds: string[];
  config: Blob;
  manifest: Blob;
  /** Every blob by digest (layers + config). */
  blobs: Map<string, Blob>;
}

/** A one-platform OCI image whose layers hold the given files. */
export function tinyImage(layerFiles: Record<string, string | Buffer>[], opts: { arch?: string; cmd?: string[] } = {}): TinyImage {
  const tars = layerFiles.map((f) => tar(f));
  const layers = tars.map((t) => blob("application/vnd.oci.image.layer.v1.tar+gzip", gzipSync(t)));
  const diffIds = tars.map((t) => "sha256:" + createHash("sha256").update(t).digest("hex"));
  const config = blob(
    "application/vnd.oci.image.config.v1+json",
    Buffer.from(
      JSON.stringify({
        architecture: opts.arch ?? "amd64",
        os: "linux",
        config: { Env: ["PATH=/bin"], Cmd: opts.cmd ?? ["/bin/sh"], WorkingDir: "/", ExposedPorts: { "8080/tcp": {} }, Labels: { a: "b" } },
        rootfs: { type: "layers", diff_ids: diffIds },
      }),
    ),
  );
  const manifest = blob(
    "application/vnd.oci.image.manifest.v1+json",
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
        layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
      }),
    ),
  );
  const blobs = new Map<string, Blob>();
  for (const b of [...layers, config]) blobs.set(b.digest, b);
  return { layers, diffIds, config, manifest, blobs };
}

/** An OCI index over manifests with their platforms. */
export function index(entries: { manifest: Blob; platform: { os: string; architecture: string; variant?: string } }[]): Blob {
  return blob(
    "application/vnd.oci.image.index.v1+json",
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: entries.map((e) => ({ mediaType: e.manifest.mediaType, digest: e.manifest.digest, size: e.manifest.size, platform: e.platform })),
      }),
    ),
  );
}
