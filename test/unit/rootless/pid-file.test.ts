import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { processStartTime } from "../../../src/common/owner.js";
import {
  formatPidFile,
  parsePidFile,
  processName,
  readPidFile,
  recordAlive,
  recordRunning,
  writePidFile,
} from "../../../src/rootless/pid-file.js";

test("parse accepts '<pid> <start>' and rejects everything else", () => {
  assert.equal(parsePidFile("123 456\n"), { pid: 123, startTime: "456" });
  assert.equal(parsePidFile(formatPidFile({ pid: 9, startTime: "77" })), { pid: 9, startTime: "77" });
  for (const bad of ["", "123", "abc 1", "1 2", "0 5", "-4 5", "12 34 56", "12 x"]) {
    assert.is(parsePidFile(bad), undefined, bad);
  }
});

test("write/read round trip records the start time; a reused pid (other start time) is not alive", () => {
  const dir = mkdtempSync(join(tmpdir(), "svcd-pid-"));
  try {
    const file = join(dir, "x.pid");
    const rec = writePidFile(file, process.pid);
    assert.equal(readPidFile(file), rec);
    assert.is(rec?.startTime, processStartTime(process.pid));
    assert.ok(recordRunning(rec!));
    assert.ok(recordAlive(rec!, processName(process.pid)!));
    assert.not.ok(recordAlive(rec!, "containerd"), "this process is not containerd");
    assert.not.ok(recordRunning({ pid: process.pid, startTime: "1" }), "pid reused by another process");
    writeFileSync(file, "garbage");
    assert.is(readPidFile(file), undefined);
    assert.is(readPidFile(join(dir, "missing.pid")), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
