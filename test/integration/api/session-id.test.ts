// Embedded engines do not share sessions (DESIGN.md §2): a sessionId another live embedded engine holds is refused
// with ALREADY_EXISTS, in this process or another; once the holder closes — or dies, killed — the id is free again.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { connect, SvcdError } from "../../../src/index.js";

const test = suite("session ids");
const id = (what: string) => `${what}-${process.pid}-${Date.now().toString(36)}`;

async function refused(sessionId: string): Promise<SvcdError> {
  const err = await connect({ engine: "embedded", sessionId }).then(
    async (c) => {
      await c.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  assert.ok(SvcdError.is(err), `connect with a held sessionId must fail, got ${String(err)}`);
  return err as SvcdError;
}

test("a sessionId held by a live engine of this process is refused with ALREADY_EXISTS until it closes", async () => {
  const sessionId = id("held");
  const first = await connect({ engine: "embedded", sessionId });
  try {
    const err = await refused(sessionId);
    assert.is(err.code, "ALREADY_EXISTS");
    assert.match(err.message, /daemon/, "the message says how to share a session");
  } finally {
    await first.close();
  }
  const again = await connect({ engine: "embedded", sessionId });
  assert.is(await again.container().from("busybox").withExec(["echo", "ok"]).stdout(), "ok\n");
  await again.close();
});

test("another process's engine holds its sessionId until it is killed: no stale claim outlives it", async () => {
  const sessionId = id("other");
  const holder = spawn(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", `import { connect } from ${JSON.stringify(new URL("../../../src/index.js", import.meta.url).href)}; await connect({ engine: "embedded", sessionId: ${JSON.stringify(sessionId)} }); process.stdout.write("held\\n"); setInterval(() => {}, 1 << 30);`],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const [chunk] = (await once(holder.stdout!, "data")) as [Buffer];
  assert.is(chunk.toString().trim(), "held");
  assert.is((await refused(sessionId)).code, "ALREADY_EXISTS");
  holder.kill("SIGKILL");
  await once(holder, "exit");
  const taken = await connect({ engine: "embedded", sessionId });
  await taken.close();
});

test.run();
