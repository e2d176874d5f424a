// Benchmark: build steps through the public API. A 3-step chain (withNewFile, withExec, withExec) built cold (a
// unique env var each iteration) vs the same chain fully cached (a new Container object each time, same client);
// and a cold `withExec(["echo","hi"])` vs `ctr run --rm … echo hi`. Uses $CONTAINERD_ADDRESS (default the system
// socket), namespaces bench-*-<pid>, all removed at the end; a daemon (dist/cli/svcd.js) on a private socket for the
// "new process, daemon" row.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Ctr, containerdAddress } from "./lib/ctr.mjs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon } from "./lib/daemon.mjs";
import { Cleanups, privateSvcdDirs, registryWith } from "./lib/session.mjs";
import { alternate, iterations, machineLine, report } from "./lib/stats.mjs";
import { load } from "./lib/svcd.mjs";

const { connect } = await load("index.js");

const n = iterations();
const tag = `${process.pid}`;
const address = containerdAddress();
const cleanups = new Cleanups();

try {
  await privateSvcdDirs(cleanups);
  const registry = await registryWith(cleanups, ["busybox"]);

  const apiNs = `bench-api-build-${tag}`;
  cleanups.push(apiNs, () => new Ctr(address, apiNs).destroyNamespace());
  const api = await connect({ containerd: address, namespace: apiNs, registryMirrors: { "docker.io": registry.url } });
  cleanups.push("api client", () => api.close());

  // A daemon on the same containerd, for a later process that finds the daemon's engine warm (engine "daemon").
  const daemonNs = `bench-daemon-build-${tag}`;
  cleanups.push(daemonNs, () => new Ctr(address, daemonNs).destroyNamespace());
  const socketDir = await mkdtemp(join(tmpdir(), "svcd-bench-build-"));
  cleanups.push("daemon socket dir", () => rm(socketDir, { recursive: true, force: true }));
  const socket = join(socketDir, "svcd.sock");
  process.env.CONTAINERD_ADDRESS = address;
  await startDaemon(cleanups, socket, daemonNs);

  const ctrNs = `bench-ctr-build-${tag}`;
  const peer = new Ctr(address, ctrNs);
  cleanups.push(ctrNs, () => peer.destroyNamespace());
  await peer.run("images", "pull", "--plain-http", `${registry.host}/library/busybox:latest`);
  await peer.run("images", "tag", `${registry.host}/library/busybox:latest`, "docker.io/library/busybox:latest");

  let seq = 0;
  const unique = () => `${tag}-${++seq}-${Math.random()}`;
  // Built from scratch each call: a new Container object whose definition depends only on `value`.
  const chain = (value, client = api) =>
    client
      .container()
      .from("busybox")
      .withEnvVariable("BUST", value)
      .withNewFile("/bench/in.txt", `hello ${value}`)
      .withExec(["sh", "-c", "cat /bench/in.txt > /bench/out.txt"])
      .withExec(["cat", "/bench/out.txt"]);
  const expect = (got, want) => {
    if (got !== want) throw new Error(`expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
  };
  const cachedValue = `cached-${tag}`;
  let fresh;

  const samples = await alternate(
    [
      {
        name: "chain cold, stdout()",
        run: async () => {
          const v = unique();
          expect(await chain(v).stdout(), `hello ${v}`);
        },
      },
      // Its warm-up builds the chain once; every counted call must be a cache hit.
      { name: "chain cached, stdout()", run: async () => expect(await chain(cachedValue).stdout(), `hello ${cachedValue}`) },
      // The same hit from a client that has seen nothing yet (as a later process would): connect() is not timed.
      {
        name: "chain cached, new client",
        before: async () => (fresh = await connect({ containerd: address, namespace: apiNs, registryMirrors: { "docker.io": registry.url } })),
        run: async () => expect(await chain(cachedValue, fresh).stdout(), `hello ${cachedValue}`),
        after: () => fresh.close(),
      },
      // A later process: node + svcd's modules load untimed; the child times connect() → stdout() itself, with an
      // embedded engine, then through the daemon (whose first run, the warm-up, builds the chain in its namespace).
      { name: "chain cached, new process", run: () => cachedChild([address, apiNs, registry.url, cachedValue]) },
      { name: "chain cached, new process, daemon", run: () => cachedChild([address, daemonNs, registry.url, cachedValue, socket]) },
      {
        name: "svcd withExec echo hi, cold",
        run: async () => expect(await api.container().from("busybox").withEnvVariable("N", unique()).withExec(["echo", "hi"]).stdout(), "hi\n"),
      },
      { name: "ctr run --rm echo hi", run: async () => expect(await peer.run("run", "--rm", "docker.io/library/busybox:latest", `bench-echo-${tag}-${++seq}`, "echo", "hi"), "hi\n") },
    ],
    { n },
  );

  console.log(
    report(
      `build steps through the API (N=${n})`,
      samples,
      [
        ["svcd withExec echo hi, cold", "ctr run --rm echo hi"],
        ["chain cold, stdout()", "ctr run --rm echo hi"],
      ],
      [
        ["chain cached, stdout()", 20],
        ["chain cached, new process", 10],
        ["chain cached, new process, daemon", 10],
      ],
    ),
  );
  console.log(`\n${await machineLine()}; containerd: ${address}`);
} finally {
  await cleanups.run();
}

/** Runs bench/lib/cached-child.mjs with `args`; its own timing (connect() → stdout()) is the sample. */
async function cachedChild(args) {
  const child = fileURLToPath(new URL("./lib/cached-child.mjs", import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, [child, ...args], { env: process.env });
  return JSON.parse(stdout.trim().split("\n").pop());
}
