// Runs examples/hello.ts's get(). Unless SVCD_REGISTRY_MIRRORS is set, the test images are served from a local
// registry for the run (this machine may have no internet access), as the tests do.
import { pushTestImages, startRegistry } from "../test/rig/registry.js";

let stop: (() => Promise<void>) | undefined;
if (!process.env.SVCD_REGISTRY_MIRRORS) {
  const registry = await startRegistry();
  stop = () => registry.stop();
  await pushTestImages(registry.url);
  process.env.SVCD_REGISTRY_MIRRORS = `docker.io=${registry.url}`;
  process.env.SVCD_REGISTRY_FALLBACK ??= "0";
}
try {
  const { get } = await import("../examples/hello.js");
  const { dag } = await import("svcd");
  try {
    console.log(await get());
  } finally {
    await dag.close();
  }
} finally {
  await stop?.();
}
