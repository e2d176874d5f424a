// The image layer's only public door: references, the registry client, pull + unpack, stored images.
export { Reference, parseReference, parseDigest, DOCKER_HUB } from "./reference.js";
export { pullImage, type PullOptions, type PullProgress } from "./pull.js";
export { getImage, type GetImageOptions } from "./get-image.js";
export type { PulledImage } from "./image-store.js";
export type { OciImageConfig, OciHealthcheck } from "./image-config.js";
export type { Descriptor } from "./manifest.js";
export { hostPlatform, parsePlatform, formatPlatform, type Platform } from "./platform.js";
export { chainIds } from "./chain-id.js";
export { MEDIA_TYPE } from "./media-types.js";
export { RegistryClient, type RegistryClientOptions, type ResolvedImage } from "./registry/registry-client.js";
export { MIRRORS_ENV, FALLBACK_ENV, upstreamFallbackFromEnv, parseMirrorsEnv, resolveMirrors, type RegistryMirrors } from "./registry/endpoints.js";
export { DockerCredentialStore, type CredentialStore, type RegistryCredentials } from "./registry/credentials.js";
