// Benchmark: cold pull + unpack of `python` from a loopback registry — svcd's pullImage vs `ctr images pull`.
// Each iteration starts cold: both namespaces' images are deleted with a synchronous GC, and the script checks that
// no content, snapshot or lease is left. Runs against a private containerd started for the run (its own content
// store), because containerd shares blobs across namespaces: any other namespace holding python would turn a
// "cold" pull into a metadata-only one. BENCH_CONTAINERD=<socket> uses that daemon instead (only valid when no other
// namespace there holds the python image).
import { Ctr } from "./lib/ctr.mjs";
import { Cleanups, registryWith } from "./lib/session.mjs";
import { alternate, iterations, machineLine, report } from "./lib/stats.mjs";
import { load, loadRig } from "./lib/svcd.mjs";

const { ContainerdClient } = await load("containerd/index.js");
const { pullImage } = await load("image/index.js");
const { HostProcessRunner } = await load("common/process-runner.js");
const { startPrivateContainerd } = await loadRig("containerd");

const n = iterations();
const tag = `${process.pid}`;
const cleanups = new Cleanups();

try {
  const containerd = process.env.BENCH_CONTAINERD ? { address: process.env.BENCH_CONTAINERD, stop: async () => {} } : await startPrivateContainerd();
  cleanups.push("containerd", () => containerd.stop());
  const registry = await registryWith(cleanups, ["python"]);

  const svcdNs = `bench-svcd-pull-${tag}`;
  const ctrNs = `bench-ctr-pull-${tag}`;
  const svcdCtr = new Ctr(containerd.address, svcdNs);
  const peer = new Ctr(containerd.address, ctrNs);
  cleanups.push(ctrNs, () => peer.destroyNamespace());
  cleanups.push(svcdNs, () => svcdCtr.destroyNamespace());
  const client = new ContainerdClient({ address: containerd.address, namespace: svcdNs });
  cleanups.push("containerd client", async () => client.close());
  const runner = new HostProcessRunner();
  const mirrors = { "docker.io": registry.url };

  const cold = async () => {
    await Promise.all([svcdCtr.removeImages(), peer.removeImages()]);
    for (const c of [svcdCtr, peer]) {
      const left = await c.leftovers();
      if (left.content.length || left.snapshots.length || left.leases.length) {
        throw new Error(`namespace ${c.namespace} is not cold: ${JSON.stringify(left)}`);
      }
    }
  };

  // Each side must leave a runnable image: an image record and every layer unpacked as a committed snapshot.
  let layers;
  const unpacked = (c) => async () => {
    const [images, snapshots] = await Promise.all([c.lines("images", "ls", "-q"), c.snapshots()]);
    const committed = snapshots.filter((r) => r.kind === "Committed").length;
    layers ??= committed;
    if (images.length !== 1 || committed === 0 || committed !== layers) {
      throw new Error(`${c.namespace}: expected 1 image and ${layers} committed snapshots, found ${images.length} and ${committed}`);
    }
  };
  const samples = await alternate(
    [
      { name: "svcd pullImage", before: cold, run: () => pullImage(client, "python", { runner, mirrors }), after: unpacked(svcdCtr) },
      {
        name: "ctr images pull",
        before: cold,
        run: () => peer.run("images", "pull", "--plain-http", `${registry.host}/library/python:latest`),
        after: unpacked(peer),
      },
    ],
    { n },
  );

  console.log(report(`pull + unpack python (cold, N=${n})`, samples, [["svcd pullImage", "ctr images pull", 1.1]]));
  console.log(`\n${await machineLine()}; containerd: ${process.env.BENCH_CONTAINERD ? containerd.address : "private, started for this run"}`);
} finally {
  await cleanups.run();
}
