// Claims of the hub's reserved addresses on a real filesystem: a claim file is complete or absent, so what looks like
// a half-written claim (an empty file, a pid without its start time — what an open-then-write claimant leaves for a
// moment) is never taken for a stale one; a complete claim of a dead owner is taken over whole; concurrent claims
// never share an address.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Paths } from "../../../src/common/paths.js";
import { processStartTime } from "../../../src/common/owner.js";
import { engineRunner, testRuntimeDir } from "../../rig/engine.js";
import { allocateReservedAddress, reservedDir, UNNAMED_CLAIM_GRACE_MS } from "../../../src/network/hub/reserved-addresses.js";

const runner = engineRunner();
const base = testRuntimeDir("svcd-reserved-");
let n = 0;
const hub = { reservedCount: 4, reservedAddress: (i: number) => `10.87.255.${250 + i}` };
const mine = `${process.pid} ${processStartTime(process.pid)}\n`;

/** Fresh Paths per test, with the reserved dir made. */
function fresh(): { paths: Paths; dir: string } {
  const root = join(base, String(n++));
  const paths = new Paths({ state: join(root, "state"), runtime: join(root, "run") });
  const dir = reservedDir(paths);
  mkdirSync(dir, { recursive: true });
  return { paths, dir };
}

test.after(() => rmSync(base, { recursive: true, force: true }));

test("an empty claim file (a claimant mid-write) is not stale: the next address is taken", async () => {
  const { paths, dir } = fresh();
  writeFileSync(join(dir, hub.reservedAddress(0)), "");
  const got = await allocateReservedAddress(paths, runner, hub);
  assert.is(got.ip, hub.reservedAddress(1));
  assert.is(readFileSync(join(dir, hub.reservedAddress(0)), "utf8"), "", "the other claim is left alone");
  await got.release();
});

test("a partial claim (pid, no start time yet) of a live claimant is not stale", async () => {
  const { paths, dir } = fresh();
  writeFileSync(join(dir, hub.reservedAddress(0)), `${process.pid}`);
  const got = await allocateReservedAddress(paths, runner, hub);
  assert.is(got.ip, hub.reservedAddress(1));
  await got.release();
});

test("an unnamed claim older than the grace is stale; a complete claim of a dead owner is taken over whole", async () => {
  const { paths, dir } = fresh();
  const old = (Date.now() - UNNAMED_CLAIM_GRACE_MS - 5_000) / 1000;
  writeFileSync(join(dir, hub.reservedAddress(0)), "");
  utimesSync(join(dir, hub.reservedAddress(0)), old, old);
  writeFileSync(join(dir, hub.reservedAddress(1)), "999999999 12345\n"); // no such pid
  const a = await allocateReservedAddress(paths, runner, hub);
  const b = await allocateReservedAddress(paths, runner, hub);
  assert.equal([a.ip, b.ip], [hub.reservedAddress(0), hub.reservedAddress(1)]);
  for (const ip of [a.ip, b.ip]) assert.is(readFileSync(join(dir, ip), "utf8"), mine);
  assert.is(statSync(join(dir, a.ip)).mode & 0o777, 0o600);
  await a.release();
  await b.release();
});

test("concurrent claims get distinct addresses, each file complete, no temp file left", async () => {
  const { paths, dir } = fresh();
  const got = await Promise.all([0, 1, 2, 3].map(() => allocateReservedAddress(paths, runner, hub)));
  assert.equal(got.map((g) => g.ip).sort(), [0, 1, 2, 3].map(hub.reservedAddress).sort());
  for (const g of got) assert.is(readFileSync(join(dir, g.ip), "utf8"), mine);
  assert.equal(readdirSync(dir).filter((f) => f.startsWith(".claim-")), []);
  const code = await allocateReservedAddress(paths, runner, hub).then(() => "allocated", (err: { code?: string }) => err.code);
  assert.is(code, "UNAVAILABLE");
  for (const g of got) await g.release();
  assert.equal(readdirSync(dir).filter((f) => f !== ".lock"), []);
});

test.run();
