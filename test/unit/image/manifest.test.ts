import { test } from "uvu";
import * as assert from "uvu/assert";
import { ImageError, InvalidArgumentError } from "../../../src/common/errors.js";
import { chainIds } from "../../../src/image/chain-id.js";
import { parseImageConfig } from "../../../src/image/image-config.js";
import { pickManifest } from "../../../src/image/image-store.js";
import { parseManifestBody } from "../../../src/image/manifest.js";
import { hostPlatform, parsePlatform, selectPlatform } from "../../../src/image/platform.js";
import { index, tinyImage } from "./helpers/tiny-image.js";

const D = (c: string) => "sha256:" + c.repeat(64);
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

test("host platform from process.arch", () => {
  assert.equal(hostPlatform("x64"), { os: "linux", architecture: "amd64" });
  assert.equal(hostPlatform("arm64"), { os: "linux", architecture: "arm64", variant: "v8" });
  assert.equal(parsePlatform("linux/arm64/v8"), { os: "linux", architecture: "arm64", variant: "v8" });
  assert.equal(parsePlatform("linux/x86_64"), { os: "linux", architecture: "amd64" });
  assert.throws(() => parsePlatform("linux"), (e: unknown) => e instanceof InvalidArgumentError);
  assert.throws(() => parsePlatform("linux/amd64/v1/x"), (e: unknown) => e instanceof InvalidArgumentError);
});

test("index → linux/amd64, arm64 prefers v8 and accepts a missing variant", () => {
  const entries = [
    { digest: D("1"), platform: { os: "linux", architecture: "arm", variant: "v7" } },
    { digest: D("2"), platform: { os: "linux", architecture: "arm64" } },
    { digest: D("3"), platform: { os: "linux", architecture: "amd64" } },
    { digest: D("4"), platform: { os: "unknown", architecture: "unknown" } },
    { digest: D("5"), platform: { os: "linux", architecture: "arm64", variant: "v8" } },
    { digest: D("6"), platform: { os: "windows", architecture: "amd64" } },
  ];
  assert.is(selectPlatform(entries, hostPlatform("x64"))?.digest, D("3"));
  assert.is(selectPlatform(entries, hostPlatform("arm64"))?.digest, D("5"));
  assert.is(selectPlatform(entries.slice(0, 4), hostPlatform("arm64"))?.digest, D("2"));
  assert.is(selectPlatform([entries[0]!, entries[3]!], hostPlatform("x64")), undefined);
  assert.is(selectPlatform([{ digest: D("7"), platform: { os: "linux", architecture: "arm64", variant: "v9" } }], hostPlatform("arm64")), undefined);
});

test("pickManifest names the platforms it has when none fits", () => {
  const amd = tinyImage([{ a: "1" }]);
  const arm = tinyImage([{ a: "2" }], { arch: "arm64" });
  const idx = parseManifestBody(
    index([
      { manifest: amd.manifest, platform: { os: "linux", architecture: "amd64" } },
      { manifest: arm.manifest, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
    ]).data,
    "application/vnd.oci.image.index.v1+json",
    "x",
  );
  assert.is(idx.kind, "index");
  if (idx.kind !== "index") return;
  assert.is(pickManifest(idx.manifests, hostPlatform("arm64"), "x").digest, arm.manifest.digest);
  assert.is(pickManifest(idx.manifests, hostPlatform("x64"), "x").digest, amd.manifest.digest);
  try {
    pickManifest(idx.manifests, { os: "linux", architecture: "s390x" }, "x");
    assert.unreachable();
  } catch (err) {
    assert.instance(err, ImageError);
    assert.match((err as Error).message, /linux\/s390x.*linux\/amd64, linux\/arm64\/v8/);
  }
});

test("parses Docker and OCI manifests; refuses schema1, encrypted and unknown layers", () => {
  const img = tinyImage([{ a: "1" }]);
  const m = parseManifestBody(img.manifest.data, img.manifest.mediaType, "x");
  assert.is(m.kind, "manifest");
  const docker = {
    schemaVersion: 2,
    mediaType: "application/vnd.docker.distribution.manifest.v2+json",
    config: { mediaType: "application/vnd.docker.container.image.v1+json", digest: D("a"), size: 10 },
    layers: [{ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", digest: D("b"), size: 20 }],
  };
  assert.is(parseManifestBody(json(docker), "application/vnd.docker.distribution.manifest.v2+json", "x").kind, "manifest");
  assert.is(parseManifestBody(json({ ...docker, mediaType: undefined }), "", "x").kind, "manifest", "mediaType may be absent");
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      assert.instance(err, ImageError);
      return (err as ImageError).code + " " + (err as Error).message;
    }
    return "accepted";
  };
  assert.match(code(() => parseManifestBody(json({ schemaVersion: 1, name: "x", fsLayers: [] }), "application/vnd.docker.distribution.manifest.v1+prettyjws", "x")), /INVALID_ARGUMENT.*schema 1/);
  assert.match(code(() => parseManifestBody(json({ schemaVersion: 1 }), "application/json", "x")), /schema 1/);
  const enc = { ...docker, layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip+encrypted", digest: D("b"), size: 1 }] };
  assert.match(code(() => parseManifestBody(json(enc), docker.mediaType, "x")), /INVALID_ARGUMENT.*encrypted/);
  const weird = { ...docker, layers: [{ mediaType: "application/x-helm", digest: D("b"), size: 1 }] };
  assert.match(code(() => parseManifestBody(json(weird), docker.mediaType, "x")), /unsupported layer media type/);
  const helm = { ...docker, config: { mediaType: "application/vnd.cncf.helm.config.v1+json", digest: D("a"), size: 1 } };
  assert.match(code(() => parseManifestBody(json(helm), docker.mediaType, "x")), /config media type/);
  assert.match(code(() => parseManifestBody(json({ ...docker, layers: [{ ...docker.layers[0], digest: "sha256:abc" }] }), docker.mediaType, "x")), /INTERNAL.*digest/);
  assert.match(code(() => parseManifestBody(json({ ...docker, layers: [{ ...docker.layers[0], size: -1 }] }), docker.mediaType, "x")), /size/);
  assert.match(code(() => parseManifestBody(Buffer.from("{nope"), docker.mediaType, "x")), /not valid JSON/);
  assert.match(code(() => parseManifestBody(json(docker), "application/vnd.oci.image.index.v1+json", "x")), /body says/);
});

test("image config: defaults and diff_ids", () => {
  const img = tinyImage([{ a: "1" }, { b: "2" }]);
  const parsed = parseImageConfig(img.config.data, "x");
  assert.equal(parsed.diffIds, img.diffIds);
  assert.equal(parsed.config.Cmd, ["/bin/sh"]);
  assert.equal(parsed.config.ExposedPorts, { "8080/tcp": {} });
  assert.equal(parsed.config.Labels, { a: "b" });
  assert.throws(() => parseImageConfig(json({ config: {} }), "x"), (e: unknown) => e instanceof ImageError);
  assert.throws(() => parseImageConfig(Buffer.from("[]"), "x"), (e: unknown) => e instanceof ImageError);
});

test("chainIDs follow the OCI definition", () => {
  // Vector computed independently (Python hashlib): sha256("sha256:aaa… sha256:bbb…").
  assert.equal(chainIds([D("a")]), [D("a")]);
  assert.equal(chainIds([D("a"), D("b")]), [D("a"), "sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c"]);
  assert.is(chainIds([]).length, 0);
});

test.run();
