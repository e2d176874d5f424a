// Reading a run's log (service-log-reader.ts) on real files in a temp dir, against a real ServiceLogs writer: the
// rotated part first, tail across the two files, a partial last line, follow across rotations until the writer
// closes (waiting on its events only), and no file handle left once the iteration ends, breaks or is aborted. Also
// the `.run` index that finds a stopped service's last run.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Paths } from "../../../../src/common/paths.js";
import { readServiceLog, type LiveLog } from "../../../../src/engine/services/service-log-reader.js";
import { lastRun, pruneRunIndex, recordRun, runIndexPath } from "../../../../src/engine/services/service-log-index.js";
import { pruneServiceLogs, ServiceLogs } from "../../../../src/engine/services/service-logs.js";
import { rejectsWith } from "../../../helpers/errors.js";
import { gate } from "../../../helpers/gate.js";

const base = mkdtempSync(join(tmpdir(), "svcd-log-reader-"));
let n = 0;
const fresh = () => new Paths({ state: join(base, String(n), "state"), runtime: join(base, String(n++), "run") });
test.after(() => rmSync(base, { recursive: true, force: true }));

/** This process's open descriptors on files under `dir`. */
const openUnder = (dir: string) =>
  readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
    } catch {
      return false;
    }
  }).length;

const collect = async (it: AsyncIterable<string[]>) => {
  const out: string[] = [];
  for await (const batch of it) {
    assert.ok(batch.length > 0, "no empty batch");
    out.push(...batch);
  }
  return out;
};

/** A stopped run's files, written by hand: `.log.1` the older part. */
function stoppedRun(dir: string, older: string, newer: string): string {
  const path = join(dir, `run-${n++}.log`);
  writeFileSync(`${path}.1`, older);
  writeFileSync(path, newer);
  return path;
}

test("a stopped run reads its rotated part first; tail N spans both; a partial last line is a line", async () => {
  const dir = mkdtempSync(join(base, "stopped-"));
  const path = stoppedRun(dir, "one\ntwo\nthr", "ee\nfour\nfive");
  const read = (tail?: number, chunkBytes?: number) => collect(readServiceLog({ path, what: "service x", tail, chunkBytes }));
  assert.equal(await read(), ["one", "two", "three", "four", "five"]);
  assert.equal(await read(undefined, 3), ["one", "two", "three", "four", "five"], "small reads");
  assert.equal(await read(2), ["four", "five"]);
  assert.equal(await read(3, 2), ["three", "four", "five"], "a line cut by the rotation is one line");
  assert.equal(await read(0), []);
  assert.equal(await read(99), ["one", "two", "three", "four", "five"]);
  // Only the current file (never rotated), and only the rotated part (the moment between rename and the new file).
  const only = join(dir, "only.log");
  writeFileSync(only, "a\nb\n");
  assert.equal(await collect(readServiceLog({ path: only, what: "service x", tail: 1 })), ["b"]);
  const rotatedOnly = join(dir, "rotated.log");
  writeFileSync(`${rotatedOnly}.1`, "r\n");
  assert.equal(await collect(readServiceLog({ path: rotatedOnly, what: "service x" })), ["r"]);
  await rejectsWith(collect(readServiceLog({ path: join(dir, "none.log"), what: "service gone1" })), "NOT_FOUND", /service gone1/);
  assert.is(openUnder(dir), 0, "every file closed");
});

test("follow: the snapshot, then each line as it is written, across rotations, until the writer closes", async () => {
  const paths = fresh();
  // 40 bytes: each file holds 20, so nearly every line rotates.
  const logs = new ServiceLogs(paths, "svc-follow", { maxBytes: 40 });
  logs.write(Buffer.from("first line\nsecond line\n"));
  const it = readServiceLog({ path: logs.path, what: "service f", live: logs, follow: true, tail: 1, chunkBytes: 7 })[Symbol.asyncIterator]();
  assert.equal((await it.next()).value, ["second line"]);
  const got: string[] = [];
  for (let i = 0; i < 12; i++) {
    logs.write(Buffer.from(`line ${i} `));
    logs.write(Buffer.from(i % 2 ? "odd\n" : "even\n"));
    // Each line arrives before the next is written: no output outruns the reader, so none rotates away unread.
    while (got.length <= i) got.push(...((await it.next()).value as string[]));
  }
  assert.equal(got, Array.from({ length: 12 }, (_, i) => `line ${i} ${i % 2 ? "odd" : "even"}`));
  logs.write(Buffer.from("no newline"));
  const end = it.next();
  await logs.close();
  assert.equal((await end).value, ["no newline"], "the partial last line is given at the end");
  assert.is((await it.next()).done, true, "ends once the writer has closed");
  assert.is(openUnder(paths.serviceLogsDir), 0);
});

/** The writer as a reader sees it, telling the test each time the reader starts waiting for more. */
function watched(logs: ServiceLogs) {
  const waiting = gate();
  const live: LiveLog = {
    get version() {
      return logs.version;
    },
    get ended() {
      return logs.ended;
    },
    flush: () => logs.flush(),
    changed: (since, signal) => {
      waiting.open();
      return logs.changed(since, signal);
    },
  };
  return { live, waiting: () => waiting.promise };
}

test("follow with tail 0 gives only what is written after; a partial line counts as the last of tail N", async () => {
  const paths = fresh();
  const logs = new ServiceLogs(paths, "svc-tail0");
  logs.write(Buffer.from("old\nhalf"));
  const w0 = watched(logs);
  const w2 = watched(logs);
  const zero = readServiceLog({ path: logs.path, what: "s", live: w0.live, follow: true, tail: 0 })[Symbol.asyncIterator]();
  const two = readServiceLog({ path: logs.path, what: "s", live: w2.live, follow: true, tail: 2 })[Symbol.asyncIterator]();
  assert.equal((await two.next()).value, ["old"], "half is the second of the two, given once it ends");
  const [z, t] = [zero.next(), two.next()];
  await Promise.all([w0.waiting(), w2.waiting()]); // both have read what was there
  logs.write(Buffer.from(" done\nnew\n"));
  assert.equal((await z).value, [" done", "new"]);
  assert.equal((await t).value, ["half done", "new"]);
  await logs.close();
  assert.is((await zero.next()).done, true);
  assert.is((await two.next()).done, true);
});

test("breaking out of a follow, or aborting it, closes its files at once", async () => {
  const paths = fresh();
  const logs = new ServiceLogs(paths, "svc-break");
  logs.write(Buffer.from("a\n"));
  await logs.flush();
  writeFileSync(`${logs.path}.1`, "older\n"); // a rotated part, held open too until the snapshot is read
  for await (const batch of readServiceLog({ path: logs.path, what: "s", live: logs, follow: true })) {
    assert.equal(batch, ["older", "a"]);
    assert.ok(openUnder(paths.serviceLogsDir) >= 2, "the reader holds the two files (and the writer its own)");
    break;
  }
  assert.is(openUnder(paths.serviceLogsDir), 1, "only the writer's handle is left");
  const abort = new AbortController();
  const it = readServiceLog({ path: logs.path, what: "s", live: logs, follow: true, signal: abort.signal })[Symbol.asyncIterator]();
  assert.equal((await it.next()).value, ["older", "a"]);
  const waiting = it.next(); // waits on the writer: nothing new
  abort.abort();
  await rejectsWith(waiting, "CANCELLED");
  assert.is(openUnder(paths.serviceLogsDir), 1);
  await logs.close();
  assert.is(openUnder(paths.serviceLogsDir), 0);
});

test("the .run index names a session's last run of a service; prune drops it with the run's log", async () => {
  const paths = fresh();
  const dir = paths.serviceLogsDir;
  assert.is(await lastRun(dir, "sess", "sha256:k"), undefined, "none recorded (no dir yet)");
  for (const id of ["svc-a-1", "svc-a-2"]) {
    await new ServiceLogs(paths, id).close();
    recordRun(dir, "sha256:k", { id, hostname: "a", sessionId: "sess" });
  }
  assert.equal(await lastRun(dir, "sess", "sha256:k"), { id: "svc-a-2", hostname: "a", sessionId: "sess" }, "the newest run");
  assert.is(await lastRun(dir, "other", "sha256:k"), undefined, "per session");
  writeFileSync(runIndexPath(dir, "bad", "sha256:k"), JSON.stringify({ id: "../../etc/passwd", sessionId: "bad" }));
  assert.is(await lastRun(dir, "bad", "sha256:k"), undefined, "an id that is not a container id is not trusted");
  // Prune removes svc-a-2's log (and the index pointing at it), keeps svc-a-1's while it is live.
  const result = await pruneServiceLogs(dir, { olderThanMs: 0, isLive: (id) => id === "svc-a-1", now: Date.now() + 1000 });
  assert.equal(result.removed, 1);
  assert.is(await lastRun(dir, "sess", "sha256:k"), undefined);
  assert.equal(readdirSync(dir).sort(), ["svc-a-1.log"]);
  await pruneRunIndex(join(base, "missing"));
});

test.run();
