// The supervisor's pure parts and its loop with a fake containerd (a node one-liner), on temp files: restart
// backoff, the capped log's rotation, its argv round trip, restart after a crash, SIGTERM forwarding, and no
// restart for a containerd that never served.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CappedLog, rotatedLogPath } from "../../../src/rootless/capped-log.js";
import { RestartBackoff } from "../../../src/rootless/restart-backoff.js";
import { formatSupervisorArgs, parseSupervisorArgs } from "../../../src/rootless/supervisor-args.js";
import { superviseContainerd } from "../../../src/rootless/containerd-supervisor.js";
import { readPidFile } from "../../../src/rootless/pid-file.js";

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "svcd-sup-"));
  dirs.push(d);
  return d;
};
test.after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

test("restart backoff doubles per quick death up to the max and resets after a stable run", () => {
  const b = new RestartBackoff({ initialMs: 100, maxMs: 1000, stableMs: 30_000 });
  assert.equal([1, 1, 1, 1, 1, 1].map((ran) => b.next(ran)), [100, 200, 400, 800, 1000, 1000]);
  assert.is(b.next(60_000), 100, "a healthy run resets it");
  assert.is(b.next(5), 200);
});

test("the capped log rotates once: the live file and the .1 file each stay under the cap", () => {
  const path = join(tempDir(), "containerd.log");
  const log = new CappedLog(path, 4096);
  for (let i = 0; i < 1000; i++) log.write(`line ${i} ${"x".repeat(50)}\n`);
  log.write(Buffer.alloc(10_000, 0x61)); // one chunk larger than the cap keeps only its tail
  log.close();
  assert.ok(statSync(path).size <= 4096, `live ${statSync(path).size}`);
  assert.ok(statSync(rotatedLogPath(path)).size <= 4096);
  assert.is(readFileSync(path, "utf8"), "a".repeat(4096));
  assert.match(readFileSync(rotatedLogPath(path), "utf8"), /line 999 x+\n$/);
  assert.throws(() => new CappedLog(path, 10), /at least 1024/);
});

test("supervisor argv round-trips; malformed argv is rejected", () => {
  const a = { socket: "/s.sock", log: "/l", logMaxBytes: 8192, pidFile: "/p", childPidFile: "/c", makeDirs: ["/run/containerd", "/x y"], program: "containerd", args: ["--config", "/x.toml"] };
  assert.equal(parseSupervisorArgs(formatSupervisorArgs(a)), a);
  assert.equal(parseSupervisorArgs(formatSupervisorArgs({ ...a, makeDirs: [] })).makeDirs, []);
  assert.throws(() => parseSupervisorArgs(["--make-dir", "rel", ...formatSupervisorArgs(a)]), /absolute/);
  assert.throws(() => parseSupervisorArgs(["--socket", "/s"]), /--/);
  assert.throws(() => parseSupervisorArgs(["--socket", "/s", "--", "containerd"]), /--log(-max-bytes)? is required/);
});

/** A fake containerd: listens on the socket given as argv[1], then dies by `how` after `ms` unless told to stop. */
// The SIGTERM handler is in place before "serving" is printed: the test stops the third run once it has read that
// line, and a signal before the handler would kill the fake outright (under load, between the two statements).
const FAKE = `const net=require("net");const fs=require("fs");const [sock,how,ms]=process.argv.slice(1);
try{fs.rmSync(sock,{force:true})}catch{};let s;process.on("SIGTERM",()=>{process.stderr.write("fake got SIGTERM\\n");s?.close();process.exit(0)});
if(how==="never"){setTimeout(()=>process.exit(7),Number(ms))}else{s=net.createServer().listen(sock);process.stderr.write("fake containerd "+process.pid+" serving\\n")}
if(how==="exit")setTimeout(()=>process.exit(3),Number(ms));`;

test("a containerd that dies is restarted; SIGTERM is forwarded and ends supervision; pidfiles follow", async () => {
  const dir = tempDir();
  const socket = join(dir, "c.sock");
  const log = new CappedLog(join(dir, "log"), 64 * 1024);
  const pidFile = join(dir, "sup.pid");
  const childPidFile = join(dir, "child.pid");
  let stop: (() => void) | undefined;
  const children: number[] = [];
  const done = superviseContainerd({
    program: process.execPath,
    args: ["-e", FAKE, socket, "exit", "150"],
    socket, log, pidFile, childPidFile,
    backoff: new RestartBackoff({ initialMs: 10, maxMs: 20 }),
    spawn: (file, args, o) => {
      // The third run stays up (no self-exit) until stopped.
      const c = spawn(file, children.length === 2 ? args.map((a) => (a === "exit" ? "stay" : a)) : [...args], o);
      children.push(c.pid!);
      return c;
    },
    onStopRequest: (s) => (stop = s),
  });
  assert.is(readPidFile(pidFile)?.pid, process.pid, "the supervisor records its own pid");
  // Polls the supervisor's own progress (its spawns are the event; they come from its timers).
  const serving = () => (readFileSync(join(dir, "log"), "utf8").match(/fake containerd \d+ serving/g) ?? []).length;
  while (children.length < 3 || serving() < 3) await new Promise((r) => setTimeout(r, 20));
  stop!();
  assert.is(await done, 0);
  log.close();
  const text = readFileSync(join(dir, "log"), "utf8");
  assert.match(text, /containerd exited with code 3; restarting in 10 ms/);
  assert.match(text, /stop requested/);
  assert.match(text, /fake got SIGTERM/, "SIGTERM reached containerd");
  assert.equal(new Set(children).size, 3);
  assert.not.ok(existsSync(pidFile), "its pidfile is removed when it stops");
  assert.not.ok(existsSync(childPidFile));
});

test("a containerd that exits before it ever served is not restarted: the supervisor exits with its status", async () => {
  const dir = tempDir();
  const socket = join(dir, "never.sock");
  const log = new CappedLog(join(dir, "log"), 64 * 1024);
  const status = await superviseContainerd({
    program: process.execPath,
    args: ["-e", FAKE, socket, "never", "100"],
    socket, log, pidFile: join(dir, "p"), childPidFile: join(dir, "c"),
  });
  log.close();
  assert.is(status, 7);
  assert.match(readFileSync(join(dir, "log"), "utf8"), /exited with code 7 before serving; not restarting/);
});

test.run();
