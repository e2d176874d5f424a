// Host directories: live bind mounts, read-only unless asked, entering the digest by path, size and mtime.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { mkdtemp, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client } from "../../../src/index.js";
import { connect } from "../../rig/connect.js";

const test = suite<{ client: Client; dir: string }>("host directory");

test.before(async (ctx) => {
  ctx.client = await connect({ namespace: "svcd-test" });
  ctx.dir = await mkdtemp(join(tmpdir(), "svcd-hostdir-"));
  await writeFile(join(ctx.dir, "a.txt"), "from the host\n");
});
test.after(async (ctx) => {
  await ctx.client.close();
  await rm(ctx.dir, { recursive: true, force: true });
});

test("a mounted host directory is readable and read-only by default", async ({ client, dir }) => {
  const c = client.container().from("busybox").withMountedDirectory("/src", client.host().directory(dir));
  assert.is(await c.withExec(["cat", "/src/a.txt"]).stdout(), "from the host\n");
  const write = c.withExec(["sh", "-c", "echo x > /src/new.txt"], { expect: "ANY" });
  assert.is.not(await write.exitCode(), 0);
  assert.match(await write.stderr(), /Read-only file system/);
});

test("readOnly: false lets the container write to the host", async ({ client, dir }) => {
  const stamp = String(Date.now());
  await client.container().from("busybox").withEnvVariable("STAMP", stamp)
    .withMountedDirectory("/src", client.host().directory(dir), { readOnly: false })
    .withExec(["sh", "-c", 'echo "$STAMP" > /src/out.txt']).sync();
  assert.is(await readFile(join(dir, "out.txt"), "utf8"), `${stamp}\n`);
});

test("changing a file's size or mtime changes the digest and re-runs the exec", async ({ client, dir }) => {
  const file = join(dir, "counted.txt");
  await writeFile(file, "1");
  const chain = () => client.container().from("busybox").withMountedDirectory("/src", client.host().directory(dir))
    .withExec(["sh", "-c", "cat /src/counted.txt; date +%s%N"]);
  const first = await chain().stdout();
  assert.is(await chain().stdout(), first, "unchanged directory: cache hit");
  const d1 = await chain().digest();
  await writeFile(file, "22");
  const second = await chain().stdout();
  assert.ok(second.startsWith("22"));
  assert.is.not(await chain().digest(), d1);
  const d2 = await chain().digest();
  await utimes(file, new Date(), new Date(Date.now() + 5000));
  assert.is.not(await chain().digest(), d2, "mtime alone changes the digest");
});

test("a missing host directory is an InvalidArgumentError", async ({ client, dir }) => {
  const c = client.container().from("busybox").withMountedDirectory("/src", client.host().directory(join(dir, "nope"))).withExec(["true"]);
  await c.sync().then(
    () => assert.unreachable("should fail"),
    (err: { code?: string }) => assert.is(err.code, "INVALID_ARGUMENT"),
  );
});

test.run();
