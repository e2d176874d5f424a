// The Container API end to end: real containerd, images pulled from the local registry mirror.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { ExecError, type Client } from "../../../src/index.js";
import { connect } from "../../rig/connect.js";
import { isCode, rejectsWith } from "../../helpers/errors.js";

const test = suite<{ client: Client }>("container api");
const bust = () => `${process.pid}-${Date.now()}-${Math.random()}`;

test.before(async (ctx) => {
  ctx.client = await connect({ namespace: "svcd-test" });
});
test.after(async (ctx) => {
  await ctx.client.close();
});

test("a file written with withNewFile is read by a later exec in the workdir", async ({ client }) => {
  const out = await client.container().from("busybox").withWorkdir("/srv").withNewFile("index.html", "Hello, world!")
    .withExec(["cat", "index.html"]).stdout();
  assert.is(out, "Hello, world!");
});

test("env variables and the workdir reach the process", async ({ client }) => {
  const c = client.container().from("busybox").withEnvVariable("A", "1").withEnvVariable("BUST", bust());
  assert.is(await c.withExec(["sh", "-c", "echo $A"]).stdout(), "1\n");
  assert.is(await c.withWorkdir("/tmp").withExec(["pwd"]).stdout(), "/tmp\n");
  assert.is(await c.withoutEnvVariable("A").withExec(["sh", "-c", 'echo "[$A]"']).stdout(), "[]\n");
});

test("python runs from its image; files of the python image are readable", async ({ client }) => {
  const py = client.container().from("python");
  assert.is(await py.withExec(["python", "-c", "print(6*7)"]).stdout(), "42\n");
  assert.match(await py.file("/etc/os-release").contents(), /Debian GNU\/Linux 12 \(bookworm\)/);
});

test("withUser runs as that user", async ({ client }) => {
  const out = await client.container().from("busybox").withUser("nobody").withEnvVariable("BUST", bust()).withExec(["id", "-u"]).stdout();
  assert.is(out, "65534\n");
});

test("a failing exec raises ExecError with exit code and stderr; expect ANY returns it", async ({ client }) => {
  const c = client.container().from("busybox").withEnvVariable("BUST", bust());
  const err = await rejectsWith<ExecError>(c.withExec(["sh", "-c", "echo oops >&2; exit 3"]).sync(), "EXEC_FAILED");
  assert.is(err.exitCode, 3);
  assert.is(err.stderr, "oops\n");
  assert.equal(err.command, ["sh", "-c", "echo oops >&2; exit 3"]);
  const anyExit = c.withExec(["sh", "-c", "echo out; echo err >&2; exit 3"], { expect: "ANY" });
  assert.is(await anyExit.exitCode(), 3);
  assert.is(await anyExit.stdout(), "out\n");
  assert.is(await anyExit.stderr(), "err\n");
  await rejectsWith(c.withExec(["true"], { expect: "FAILURE" }).sync(), "EXEC_FAILED");
});

test("stdin reaches the command", async ({ client }) => {
  const out = await client.container().from("busybox").withEnvVariable("BUST", bust()).withExec(["cat"], { stdin: "from stdin" }).stdout();
  assert.is(out, "from stdin");
});

test("path traversal is rejected before anything runs", async ({ client }) => {
  const c = client.container().from("busybox").withWorkdir("/srv");
  // At the builder call (the hostile-input battery covers every path parameter).
  assert.throws(() => c.withNewFile("../../etc/shadow", "x"), isCode("INVALID_ARGUMENT", /escapes/));
  assert.throws(() => c.withMountedCache("../../x", client.cacheVolume("v")), isCode("INVALID_ARGUMENT", /escapes/));
});

test("digest is stable and changes with the definition", async ({ client }) => {
  const a = client.container().from("busybox").withEnvVariable("X", "1");
  const d1 = await a.digest();
  assert.match(d1, /^sha256:[0-9a-f]{64}$/);
  assert.is(await client.container().from("busybox").withEnvVariable("X", "1").digest(), d1);
  assert.is.not(await a.withEnvVariable("X", "2").digest(), d1);
});

test.run();
