// `npm run demo`'s second half: `svc call -m examples/hello.ts get`, as a user types it. Unless SVCD_REGISTRY_MIRRORS
// is set, the test images are served from a local registry for the run (this machine may have no internet
// access), as the tests do.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { pushTestImages, startRegistry } from "../test/rig/registry.js";

const svc = fileURLToPath(new URL("../dist/cli/svc.js", import.meta.url));
const hello = fileURLToPath(new URL("../examples/hello.ts", import.meta.url));
let stop: (() => Promise<void>) | undefined;
if (!process.env.SVCD_REGISTRY_MIRRORS) {
  const registry = await startRegistry();
  stop = () => registry.stop();
  await pushTestImages(registry.url);
  process.env.SVCD_REGISTRY_MIRRORS = `docker.io=${registry.url}`;
  process.env.SVCD_REGISTRY_FALLBACK ??= "0";
}
let status = 1;
try {
  const child = spawn(process.execPath, [svc, "call", "-m", hello, "get"], { stdio: "inherit", env: process.env });
  const [code, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
  status = code ?? (signal ? 128 : 1);
} finally {
  await stop?.();
}
process.exit(status);
