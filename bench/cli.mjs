// Benchmark (issue 11): `svc call -m examples/hello.ts get` end to end, warm (images pulled, nothing else cached
// that the library side would not have too), against the same definitions through the library in a process of its
// own — both fresh `node` processes on the compiled dist/, embedded engines on the same containerd and dirs, sides
// alternating. And svc's start-up: `svc --help` and `svc version` against a bare `node -e 0`.
//   node bench/cli.mjs            N=10 (iterations per side)
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { Cleanups, privateSvcdDirs, registryWith } from "./lib/session.mjs";
import { svcdContainerd } from "./lib/engine.mjs";
import { alternate, iterations, machineLine, report } from "./lib/stats.mjs";

const n = iterations();
const svc = fileURLToPath(new URL("../dist/cli/svc.js", import.meta.url));
const hello = fileURLToPath(new URL("../examples/hello.ts", import.meta.url));
const index = new URL("../dist/index.js", import.meta.url).href;
// The library side: the module's get(), written inline against the same API (no tsx, no module loading).
const LIBRARY = `
import(${JSON.stringify(index)}).then(async ({ dag }) => {
  const web = dag.container().from("python").withWorkdir("/srv").withNewFile("index.html", "Hello, world!")
    .withExposedPort(8080).asService({ args: ["python", "-m", "http.server", "8080"] });
  const out = await dag.container().from("busybox").withServiceBinding("www", web).withExec(["wget", "-O-", "http://www:8080"]).stdout();
  if (out !== "Hello, world!") throw new Error("unexpected output " + JSON.stringify(out));
  process.stdout.write(out + "\\n");
  await dag.close();
});`;

async function run(args, expect) {
  const child = spawn(process.execPath, args, { env: process.env, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (b) => (out += b));
  const [code] = await once(child, "close");
  if (code !== 0 || (expect && !out.includes(expect))) throw new Error(`${args.join(" ")}: exit ${code}, ${JSON.stringify(out.slice(0, 200))}`);
}

const cleanups = new Cleanups();
try {
  await privateSvcdDirs(cleanups);
  const registry = await registryWith(cleanups, ["busybox", "python"]);
  process.env.SVCD_REGISTRY_MIRRORS = `docker.io=${registry.url}`;
  const { option } = await svcdContainerd();
  if (option.containerd) process.env.CONTAINERD_ADDRESS = option.containerd;
  process.env.SVCD_SOCKET = `/tmp/svcd-bench-cli-${process.pid}-none.sock`; // embedded on both sides
  const get = await alternate(
    [
      { name: "svc call get", run: () => run([svc, "-q", "call", "-m", hello, "get"], "Hello, world!") },
      { name: "library get", run: () => run(["--input-type=module", "-e", LIBRARY], "Hello, world!") },
    ],
    { n },
  );
  const startup = await alternate(
    [
      { name: "svc --help", run: () => run([svc, "--help"], "Usage: svc") },
      { name: "svc version", run: () => run([svc, "version"], "svc ") },
      { name: "node -e 0", run: () => run(["-e", "0"]) },
    ],
    { n: n * 2 },
  );
  const out = [`## svc call vs the library (${await machineLine()}, N=${n})`, ""];
  out.push(report("`get` end to end, warm", get, [["svc call get", "library get", 1.2]]), "");
  out.push(report("start-up", startup, [["svc --help", "node -e 0"], ["svc version", "node -e 0"]]), "");
  process.stdout.write(out.join("\n") + "\n");
} finally {
  await cleanups.run();
}
