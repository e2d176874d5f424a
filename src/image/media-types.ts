// The manifest, config and layer media types svcd understands (Docker schema 2 and OCI), and which it refuses.

/** Media type strings, Docker's and OCI's. */
export const MEDIA_TYPE = {
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerForeignLayerGzip: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  dockerSchema1: "application/vnd.docker.distribution.manifest.v1+json",
  dockerSchema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  ociLayerNondistributable: "application/vnd.oci.image.layer.nondistributable.v1.tar",
  ociLayerNondistributableGzip: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  ociLayerNondistributableZstd: "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
} as const;

/** What a manifest request asks for, in order of preference (never schema1). */
export const MANIFEST_ACCEPT: readonly string[] = [
  MEDIA_TYPE.dockerManifest,
  MEDIA_TYPE.dockerManifestList,
  MEDIA_TYPE.ociManifest,
  MEDIA_TYPE.ociIndex,
];

const INDEX_TYPES = new Set<string>([MEDIA_TYPE.dockerManifestList, MEDIA_TYPE.ociIndex]);
const MANIFEST_TYPES = new Set<string>([MEDIA_TYPE.dockerManifest, MEDIA_TYPE.ociManifest]);
const CONFIG_TYPES = new Set<string>([MEDIA_TYPE.dockerConfig, MEDIA_TYPE.ociConfig]);
const LAYER_TYPES = new Set<string>([
  MEDIA_TYPE.dockerLayerGzip,
  MEDIA_TYPE.dockerForeignLayerGzip,
  MEDIA_TYPE.ociLayer,
  MEDIA_TYPE.ociLayerGzip,
  MEDIA_TYPE.ociLayerZstd,
  MEDIA_TYPE.ociLayerNondistributable,
  MEDIA_TYPE.ociLayerNondistributableGzip,
  MEDIA_TYPE.ociLayerNondistributableZstd,
]);

/** A manifest list / OCI index. */
export function isIndexType(mediaType: string): boolean {
  return INDEX_TYPES.has(mediaType);
}

/** A single-platform image manifest. */
export function isManifestType(mediaType: string): boolean {
  return MANIFEST_TYPES.has(mediaType);
}

/** An image config blob. */
export function isConfigType(mediaType: string): boolean {
  return CONFIG_TYPES.has(mediaType);
}

/** A layer containerd's diff service can apply (plain, gzip or zstd tar). */
export function isLayerType(mediaType: string): boolean {
  return LAYER_TYPES.has(mediaType);
}

/** Docker's pre-2017 signed manifests, which carry no content-addressed config. */
export function isSchema1Type(mediaType: string): boolean {
  return mediaType === MEDIA_TYPE.dockerSchema1 || mediaType === MEDIA_TYPE.dockerSchema1Signed;
}

/** ocicrypt's encrypted layers (`…+encrypted`), which need keys svcd does not have. */
export function isEncryptedType(mediaType: string): boolean {
  return /\+encrypted$/.test(mediaType);
}

/** The media type without parameters (`; charset=utf-8`), lowercased. */
export function bareMediaType(value: string | null | undefined): string {
  return (value ?? "").split(";")[0]!.trim().toLowerCase();
}
