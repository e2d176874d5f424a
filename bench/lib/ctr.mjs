// ctr as the peer side and as an independent view of what is left in a namespace; argv only, never a shell.
import { execFile } from "node:child_process";

/** The containerd socket the benchmarks use: $CONTAINERD_ADDRESS or the system one. */
export function containerdAddress(env = process.env) {
  return (env.CONTAINERD_ADDRESS || "/run/containerd/containerd.sock").replace(/^unix:\/\//, "");
}

/** A ctr bound to one socket and namespace. `run(...args)` resolves stdout, rejects with stderr on failure. */
export class Ctr {
  constructor(address, namespace) {
    this.address = address;
    this.namespace = namespace;
  }

  run(...args) {
    return new Promise((resolve, reject) => {
      execFile("ctr", ["--address", this.address, "-n", this.namespace, ...args], { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
        if (err) reject(Object.assign(new Error(`ctr ${args.join(" ")}: ${stderr.trim() || err.message}`), { cause: err }));
        else resolve(stdout);
      });
    });
  }

  /** Non-empty trimmed lines of a `ctr … ls -q` style command. */
  async lines(...args) {
    return (await this.run(...args)).split("\n").map((l) => l.trim()).filter(Boolean);
  }

  /** Rows (header dropped) of a `ctr … ls` table, split on whitespace. */
  async rows(...args) {
    return (await this.lines(...args)).slice(1).map((l) => l.split(/\s+/));
  }

  /** Deletes every image, waiting for the garbage collection that follows (`--sync`). */
  async removeImages() {
    const images = await this.lines("images", "ls", "-q");
    if (images.length) await this.run("images", "rm", "--sync", ...images);
  }

  /** `ctr snapshots ls` as { key, parent, kind } (a base layer's parent column is empty). */
  async snapshots() {
    return (await this.rows("snapshots", "ls")).map((r) => ({ key: r[0], parent: r.length > 2 ? r[1] : "", kind: r[r.length - 1] }));
  }

  /** What a cold start must not find: content blobs, snapshots, leases. */
  async leftovers() {
    const [content, snapshots, leases] = await Promise.all([
      this.rows("content", "ls"),
      this.rows("snapshots", "ls"),
      this.lines("leases", "ls", "-q"),
    ]);
    return { content: content.map((r) => r[0]), snapshots: snapshots.map((r) => r[0]), leases };
  }

  /**
   * Empties the namespace and deletes it: tasks, containers, images, leases, snapshots (leaves first, so GC-rooted
   * build snapshots go too), content, then the namespace itself. Tolerates a namespace that does not exist.
   */
  async destroyNamespace() {
    const exists = (await new Ctr(this.address, "default").lines("namespaces", "ls", "-q")).includes(this.namespace);
    if (!exists) return;
    for (const id of await this.lines("tasks", "ls", "-q")) await this.run("tasks", "rm", "-f", id).catch(() => {});
    for (const id of await this.lines("containers", "ls", "-q")) await this.run("containers", "rm", id).catch(() => {});
    await this.removeImages();
    for (const id of await this.lines("leases", "ls", "-q")) await this.run("leases", "rm", id).catch(() => {});
    for (let round = 0; round < 100; round++) {
      const rows = await this.snapshots();
      if (rows.length === 0) break;
      const parents = new Set(rows.map((r) => r.parent));
      const leaves = rows.filter((r) => !parents.has(r.key)).map((r) => r.key);
      for (const key of leaves) await this.run("snapshots", "rm", key).catch(() => {});
    }
    await this.#collectStuckSnapshots();
    const content = (await this.rows("content", "ls")).map((r) => r[0]);
    if (content.length) await this.run("content", "rm", ...content).catch(() => {});
    await new Ctr(this.address, "default").run("namespaces", "rm", this.namespace);
  }

  /**
   * Snapshots `snapshots rm` refuses with "cannot remove snapshot with child" although no child is listed: containerd's
   * GC deletes a collected child without unlinking it from its parent (containerd/containerd#11908, fix proposed in
   * #14068). The GC itself ignores that stale link, so: drop the GC roots and run a synchronous collection.
   */
  async #collectStuckSnapshots() {
    const rows = await this.snapshots();
    if (rows.length === 0) return;
    for (const { key } of rows) await this.run("snapshots", "label", key, "containerd.io/gc.root=").catch(() => {});
    const lease = (await this.run("leases", "create")).trim().split(/\s+/)[0];
    await this.run("leases", "rm", "--sync", lease);
  }
}
