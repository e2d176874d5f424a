// Registry JSON (indexes and manifests) checked field by field before svcd acts on it: the registry is untrusted.
import { ImageError } from "../common/errors.js";
import {
  bareMediaType,
  isConfigType,
  isEncryptedType,
  isIndexType,
  isLayerType,
  isManifestType,
  isSchema1Type,
} from "./media-types.js";
import type { Platform } from "./platform.js";
import { DIGEST_HEX_LENGTH } from "./reference.js";

/** An OCI content descriptor, as registries and image JSON spell it. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
}

/** A manifest list / OCI index. */
export interface ImageIndex {
  kind: "index";
  mediaType: string;
  manifests: Descriptor[];
}

/** A single-platform manifest: one config and its layers, bottom first. */
export interface ImageManifest {
  kind: "manifest";
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

/** The largest manifest or config svcd reads into memory (containerd's own limit is similar). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** True for `algorithm:hex` with a known algorithm and exact hex length. */
export function isValidDigest(value: unknown): value is string {
  if (typeof value !== "string") return false;
  const m = /^([a-z0-9]+):([a-f0-9]+)$/.exec(value);
  return m !== null && DIGEST_HEX_LENGTH[m[1]!] === m[2]!.length;
}

function bad(ref: string, what: string): ImageError {
  return new ImageError("INTERNAL", ref, `image ${ref}: registry sent an invalid ${what}`);
}

function unsupported(ref: string, what: string): ImageError {
  return new ImageError("INVALID_ARGUMENT", ref, `image ${ref}: ${what}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function stringRecord(v: unknown): Record<string, string> | undefined {
  if (!isRecord(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) if (typeof val === "string") out[k] = val;
  return out;
}

/** Validates one descriptor object from registry JSON. */
export function parseDescriptor(value: unknown, ref: string, where: string): Descriptor {
  if (!isRecord(value)) throw bad(ref, `${where} descriptor`);
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== "string" || mediaType === "") throw bad(ref, `${where} media type`);
  if (!isValidDigest(digest)) throw bad(ref, `${where} digest ${JSON.stringify(digest)}`);
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) throw bad(ref, `${where} size`);
  const out: Descriptor = { mediaType, digest, size };
  const annotations = stringRecord(value.annotations);
  if (annotations && Object.keys(annotations).length > 0) out.annotations = annotations;
  if (isRecord(value.platform)) {
    const p = value.platform;
    if (typeof p.os === "string" && typeof p.architecture === "string") {
      out.platform = { os: p.os, architecture: p.architecture };
      if (typeof p.variant === "string" && p.variant !== "") out.platform.variant = p.variant;
    }
  }
  if (Array.isArray(value.urls)) out.urls = value.urls.filter((u): u is string => typeof u === "string");
  return out;
}

/** Refuses media types svcd cannot pull, with a message saying why. */
export function checkSupportedTopLevel(mediaType: string, ref: string): void {
  if (isSchema1Type(mediaType)) {
    throw unsupported(ref, "uses Docker manifest schema 1, which is deprecated and not supported; re-push it with a current client");
  }
  if (!isIndexType(mediaType) && !isManifestType(mediaType)) throw unsupported(ref, `unsupported manifest media type ${JSON.stringify(mediaType)}`);
}

/**
 * Parses an index or manifest body. `declared` is the media type the descriptor or Content-Type gave; a body
 * that names its own mediaType must agree with it.
 */
export function parseManifestBody(body: Buffer, declared: string, ref: string): ImageIndex | ImageManifest {
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw new ImageError("INTERNAL", ref, `image ${ref}: manifest is not valid JSON`, { cause: err });
  }
  if (!isRecord(json)) throw bad(ref, "manifest");
  if (json.schemaVersion === 1) checkSupportedTopLevel("application/vnd.docker.distribution.manifest.v1+json", ref);
  const own = typeof json.mediaType === "string" ? bareMediaType(json.mediaType) : "";
  let mediaType = bareMediaType(declared);
  if (own !== "" && mediaType !== "" && own !== mediaType && !(mediaType === "application/json" || mediaType === "application/octet-stream")) {
    throw bad(ref, `manifest: body says ${own}, registry said ${mediaType}`);
  }
  if (own !== "") mediaType = own;
  if (mediaType === "" || mediaType === "application/json" || mediaType === "application/octet-stream") {
    // OCI allows omitting mediaType: tell an index from a manifest by shape.
    mediaType = Array.isArray(json.manifests) ? "application/vnd.oci.image.index.v1+json" : "application/vnd.oci.image.manifest.v1+json";
  }
  checkSupportedTopLevel(mediaType, ref);

  if (isIndexType(mediaType)) {
    if (!Array.isArray(json.manifests)) throw bad(ref, "index (no manifests)");
    const manifests = json.manifests.map((m, i) => parseDescriptor(m, ref, `manifests[${i}]`));
    return { kind: "index", mediaType, manifests };
  }
  const config = parseDescriptor(json.config, ref, "config");
  if (!isConfigType(config.mediaType)) throw unsupported(ref, `unsupported config media type ${JSON.stringify(config.mediaType)} (not a container image?)`);
  if (!Array.isArray(json.layers)) throw bad(ref, "manifest (no layers)");
  const layers = json.layers.map((l, i) => {
    const d = parseDescriptor(l, ref, `layers[${i}]`);
    if (isEncryptedType(d.mediaType)) throw unsupported(ref, `layer ${d.digest} is encrypted (${d.mediaType}); svcd cannot decrypt layers`);
    if (!isLayerType(d.mediaType)) throw unsupported(ref, `unsupported layer media type ${JSON.stringify(d.mediaType)}`);
    return d;
  });
  return { kind: "manifest", mediaType, config, layers };
}
