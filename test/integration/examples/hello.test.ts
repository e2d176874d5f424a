// The README's demo: scripts/demo.ts runs examples/hello.ts's get() (written against `dag`, imported as "svcd").
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";

const run = promisify(execFile);
const repo = fileURLToPath(new URL("../../../", import.meta.url));

test("the demo prints Hello, world!", async () => {
  const { stdout } = await run(process.execPath, ["--import", "tsx", "scripts/demo.ts"], { cwd: repo, env: process.env, timeout: 300_000 });
  assert.is(stdout, "Hello, world!\n");
});

test.run();
