// `svc run` end to end: output and exit code pass through; usage errors exit 2.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const svc = fileURLToPath(new URL("../../../src/cli/svc.ts", import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", svc, ...args], { env: process.env, encoding: "utf8", timeout: 120_000 });

test("svc run prints the command's output and exits with its code", () => {
  const nonce = String(Date.now());
  const ok = run("run", "busybox", "--env", `NONCE=${nonce}`, "--", "sh", "-c", 'echo "hi $NONCE"; echo err >&2; exit 3');
  assert.is(ok.stdout, `hi ${nonce}\n`);
  // svc's own warning lines (a rootless engine without /dev/net/tun says egress is off) come before the command's.
  assert.is(ok.stderr.split("\n").filter((l) => !l.startsWith("svc: warning: ")).join("\n"), "err\n");
  assert.is(ok.status, 3);
});

test("usage errors exit 2 with a message", () => {
  const bad = run("run", "busybox");
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /usage: svc run/);
  assert.is(run("frobnicate").status, 2);
});

test.run();
