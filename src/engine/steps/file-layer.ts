// A one-file layer for `withNewFile`: an uncompressed tar applied with containerd's Diff.Apply, so no host-side
// mount of the container filesystem is ever needed (rootless mode relies on this). Parent directories missing in the
// lower layers are created by containerd's applier (mode 0755). The entry is deterministic: fixed mtime and owner.
import { pack } from "tar-stream";

export interface FileLayerEntry {
  /** Absolute container path, already validated (no `..`). */
  path: string;
  contents: string | Buffer;
  mode: number;
}

/** The tar bytes of a layer holding exactly one regular file owned by root. */
export async function fileLayerTar(entry: FileLayerEntry): Promise<Buffer> {
  const archive = pack();
  const chunks: Buffer[] = [];
  archive.on("data", (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve, reject) => {
    archive.on("end", resolve);
    archive.on("error", reject);
  });
  const body = typeof entry.contents === "string" ? Buffer.from(entry.contents, "utf8") : entry.contents;
  archive.entry(
    { name: entry.path.replace(/^\/+/, ""), type: "file", mode: entry.mode, uid: 0, gid: 0, mtime: new Date(0), size: body.length },
    body,
  );
  archive.finalize();
  await done;
  return Buffer.concat(chunks);
}
