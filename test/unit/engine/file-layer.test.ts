import { test } from "uvu";
import * as assert from "uvu/assert";
import { extract } from "tar-stream";
import { fileLayerTar } from "../../../src/engine/steps/file-layer.js";

async function entries(tar: Buffer) {
  const ex = extract();
  const out: { name: string; mode: number; body: string }[] = [];
  ex.on("entry", (header, stream, next) => {
    const parts: Buffer[] = [];
    stream.on("data", (c: unknown) => {
      parts.push(c as Buffer);
    });
    stream.on("end", () => {
      out.push({ name: header.name, mode: header.mode ?? 0, body: Buffer.concat(parts).toString() });
      next();
    });
  });
  const done = new Promise<void>((r) => ex.on("finish", () => r()));
  ex.end(tar);
  await done;
  return out;
}

test("a one-file layer holds the file with its mode, relative to the root", async () => {
  const tar = await fileLayerTar({ path: "/srv/index.html", contents: "Hello, world!", mode: 0o640 });
  assert.equal(await entries(tar), [{ name: "srv/index.html", mode: 0o640, body: "Hello, world!" }]);
});

test("layers are deterministic", async () => {
  const a = await fileLayerTar({ path: "/a", contents: "x", mode: 0o644 });
  const b = await fileLayerTar({ path: "/a", contents: "x", mode: 0o644 });
  assert.ok(a.equals(b));
});

test.run();
