// Benchmark: run `/bin/true` in busybox (image pulled beforehand) — svcd's runtime layer (runContainer, the floor of
// the client), the public API as a cold build step (withExec + sync, incl. the snapshot commit), vs `ctr run --rm`.
// Uses $CONTAINERD_ADDRESS (default the system socket), namespaces bench-*-<pid>, all removed at the end.
import { Ctr, containerdAddress } from "./lib/ctr.mjs";
import { Cleanups, privateSvcdDirs, registryWith } from "./lib/session.mjs";
import { alternate, iterations, machineLine, report } from "./lib/stats.mjs";
import { load } from "./lib/svcd.mjs";

const { ContainerdClient } = await load("containerd/index.js");
const { pullImage } = await load("image/index.js");
const { runContainer } = await load("runtime/index.js");
const { Paths } = await load("common/paths.js");
const { HostProcessRunner } = await load("common/process-runner.js");
const { connect } = await load("index.js");

const n = iterations();
const tag = `${process.pid}`;
const address = containerdAddress();
const cleanups = new Cleanups();

try {
  const dirs = await privateSvcdDirs(cleanups);
  const registry = await registryWith(cleanups, ["busybox"]);
  const mirrors = { "docker.io": registry.url };
  const runner = new HostProcessRunner();

  // svcd runtime layer: its own namespace, busybox pulled by svcd.
  const rtNs = `bench-svcd-run-${tag}`;
  cleanups.push(rtNs, () => new Ctr(address, rtNs).destroyNamespace());
  const client = new ContainerdClient({ address, namespace: rtNs });
  cleanups.push("containerd client", async () => client.close());
  const pulled = await pullImage(client, "busybox", { runner, mirrors });
  const image = { name: pulled.name, chainId: pulled.chainId, snapshotter: pulled.snapshotter, config: pulled.config };
  const paths = new Paths(dirs);

  // ctr: its own namespace, busybox pulled by ctr and named as the brief's command expects.
  const ctrNs = `bench-ctr-run-${tag}`;
  const peer = new Ctr(address, ctrNs);
  cleanups.push(ctrNs, () => peer.destroyNamespace());
  await peer.run("images", "pull", "--plain-http", `${registry.host}/library/busybox:latest`);
  await peer.run("images", "tag", `${registry.host}/library/busybox:latest`, "docker.io/library/busybox:latest");

  // Public API: an embedded engine in its own namespace.
  const apiNs = `bench-api-run-${tag}`;
  cleanups.push(apiNs, () => new Ctr(address, apiNs).destroyNamespace());
  const api = await connect({ containerd: address, namespace: apiNs, registryMirrors: mirrors });
  cleanups.push("api client", () => api.close());

  let seq = 0;
  const id = (kind) => `bench-${kind}-${tag}-${++seq}`;
  const expectTrue = (r) => {
    if (r.exitCode !== 0) throw new Error(`/bin/true exited ${r.exitCode}: ${r.stderr}`);
  };
  const samples = await alternate(
    [
      { name: "svcd runContainer", run: async () => expectTrue(await runContainer(client, { id: id("rt"), image, args: ["/bin/true"], paths, runner })) },
      {
        name: "svcd runContainer, no init",
        run: async () => expectTrue(await runContainer(client, { id: id("rtni"), image, args: ["/bin/true"], paths, runner, init: false })),
      },
      {
        name: "svcd API withExec().sync()",
        run: () => api.container().from("busybox").withEnvVariable("N", `${tag}-${++seq}-${Math.random()}`).withExec(["/bin/true"]).sync(),
      },
      { name: "ctr run --rm", run: () => peer.run("run", "--rm", "docker.io/library/busybox:latest", id("ctr"), "/bin/true") },
    ],
    { n },
  );
  const leftovers = [...(await new Ctr(address, rtNs).lines("containers", "ls", "-q")), ...(await peer.lines("containers", "ls", "-q"))];
  if (leftovers.length) throw new Error(`containers left behind: ${leftovers.join(", ")}`);

  console.log(
    report(`run /bin/true in busybox (N=${n})`, samples, [
      ["svcd runContainer", "ctr run --rm", 0.7],
      ["svcd runContainer, no init", "ctr run --rm"],
      ["svcd API withExec().sync()", "ctr run --rm"],
    ]),
  );
  console.log(`\n${await machineLine()}; containerd: ${address}`);
} finally {
  await cleanups.run();
}
