// Service.logs() against the real engine (DESIGN.md §2, issue 11): a service's stdout and stderr lines merged, the
// last N with `tail`, `follow` streaming a line the service prints after the call (httpd -vv logs each request's
// url on stderr; a client container makes the request — no sleeps) and ending when the service stops; the last run
// still readable after stop(), and from another client of the same sessionId (in the daemon pass also while the
// first client lives, through a second connection). Breaking out of a follow, or aborting it, closes the engine's
// file handles on the log at once — in the daemon too, which the test checks in /proc/<daemon pid>/fd.
import { readdirSync, readlinkSync } from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import type { Client, Service } from "../../../src/index.js";
import { probeDaemon } from "../../../src/daemon/index.js";
import { connect, testEngine } from "../../rig/connect.js";
import { enginePaths } from "../../rig/engine.js";
import { isCode, rejectsWith } from "../../helpers/errors.js";

const test = suite<{ pid: number }>("service logs");
const run = `${process.pid}-${Date.now().toString(36)}`;
let seq = 0;
const sessionId = (what: string) => `logs-${what}-${run}-${++seq}`;

test.before(async (ctx) => {
  if (testEngine === "embedded") ctx.pid = process.pid;
  else {
    const probe = await probeDaemon(process.env.SVCD_SOCKET!);
    if (probe.state !== "answers") throw new Error(`the daemon pass's daemon does not answer: ${probe.state}`);
    ctx.pid = probe.version.pid;
  }
});

/** Two lines on stdout and one on stderr, then httpd, which logs each request's url and response on stderr. */
const talker = (client: Client, tag: string): Service =>
  client.container().from("busybox").withEnvVariable("RUN", `${run}-${tag}`).withNewFile("/srv/index.html", "hello").withExposedPort(8080)
    .asService({ args: ["sh", "-c", "echo out-1; echo err-1 >&2; echo out-2; exec httpd -f -vv -p 8080 -h /srv"] });

/** Makes `svc` log `url:/<path>` and then `response:404`. */
async function request(client: Client, svc: Service, path: string): Promise<void> {
  await client.container().from("busybox").withServiceBinding("www", svc).withEnvVariable("NONCE", `${run}-${path}`)
    .withExec(["sh", "-c", `wget -qO- http://www:8080/${path} || true`]).sync();
}

/** Lines from `it` up to and including the first that matches `until`. */
async function upTo(it: AsyncIterator<string>, until: RegExp): Promise<string[]> {
  const lines: string[] = [];
  for (;;) {
    const next = await it.next();
    if (next.done) throw new Error(`the logs ended before a line matching ${until}; got ${JSON.stringify(lines)}`);
    lines.push(next.value);
    if (until.test(next.value)) return lines;
  }
}

/** The startup lines, however stdout and stderr interleaved: `out-1` before `out-2`, `err-1` somewhere. */
async function startup(it: AsyncIterator<string>): Promise<string[]> {
  const lines: string[] = [];
  while (lines.length < 3) {
    const next = await it.next();
    if (next.done) throw new Error(`the logs ended after ${JSON.stringify(lines)}`);
    lines.push(next.value);
  }
  assert.equal([...lines].sort(), ["err-1", "out-1", "out-2"]);
  assert.ok(lines.indexOf("out-1") < lines.indexOf("out-2"), "a stream's lines keep their order");
  return lines;
}

const all = async (lines: AsyncIterable<string>) => {
  const out: string[] = [];
  for await (const line of lines) out.push(line);
  return out;
};

/** How many descriptors the engine's process holds on service logs (the writers' own included). */
function logFds(pid: number): number {
  const dir = enginePaths().serviceLogsDir;
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(dir + "/");
    } catch {
      return false;
    }
  }).length;
}

test("stdout and stderr merged; tail: N the last N; follow streams a line printed after the call and ends at stop(); the last run stays readable", async ({ pid }) => {
  const client = await connect({ sessionId: sessionId("main"), serviceGracePeriodMs: 0 });
  try {
    const svc = talker(client, "main");
    await svc.start();
    const idle = logFds(pid);
    // Following from the start: the startup lines (they may reach the log just after start() resolved), then the
    // request made only once they were read.
    const follow = svc.logs({ follow: true })[Symbol.asyncIterator]();
    const first = await startup(follow);
    assert.ok(logFds(pid) > idle, "the follower holds the log open");
    await request(client, svc, "after-the-call");
    const later = await upTo(follow, /response:404$/);
    assert.match(later[0]!, /: url:\/after-the-call$/, "the request's line came after the call, through the follow");
    await follow.return!();
    assert.is(logFds(pid), idle, "break (return()) closed the engine's handles on the log");

    const lines = await all(svc.logs());
    assert.equal(lines, [...first, ...later]);
    assert.equal(await all(svc.logs({ tail: 2 })), lines.slice(-2));
    assert.equal(await all(svc.logs({ tail: 0 })), []);
    assert.equal(await all(svc.logs({ tail: 100 })), lines);

    // A follow ends when the service stops.
    const following = all(svc.logs({ follow: true, tail: 1 }));
    await svc.stop();
    assert.equal((await following).slice(0, 1), lines.slice(-1));
    assert.equal((await all(svc.logs())).slice(0, lines.length), lines, "the stopped service's last run");
  } finally {
    await client.close();
  }
});

test("the last run is found by another client of the same sessionId (and followed by one, through the daemon)", async () => {
  const id = sessionId("shared");
  const a = await connect({ sessionId: id, serviceGracePeriodMs: 0 });
  let lines: string[];
  try {
    const svc = talker(a, "shared");
    await svc.start();
    if (testEngine === "daemon") {
      // A second connection of the session follows the service the first one started.
      const b = await connect({ sessionId: id, serviceGracePeriodMs: 0 });
      try {
        const follow = talker(b, "shared").logs({ follow: true })[Symbol.asyncIterator]();
        await startup(follow);
        await request(a, svc, "from-a");
        assert.match((await upTo(follow, /url:\/from-a$/)).at(-1)!, /url:\/from-a$/);
        await follow.return!();
        await svc.stop();
        lines = await all(talker(b, "shared").logs());
      } finally {
        await b.close();
      }
    } else {
      const follow = svc.logs({ follow: true })[Symbol.asyncIterator]();
      await startup(follow);
      await follow.return!();
      await svc.stop();
      lines = await all(svc.logs());
    }
  } finally {
    await a.close();
  }
  // The session is over (every client gone); a new client of the same id reads the last run from its record.
  const c = await connect({ sessionId: id });
  try {
    assert.equal(await all(talker(c, "shared").logs()), lines);
    assert.ok(lines.includes("err-1"));
    await rejectsWith(all(talker(c, "other").logs()), "NOT_FOUND");
  } finally {
    await c.close();
  }
  // Another session does not see it.
  const other = await connect({ sessionId: sessionId("elsewhere") });
  try {
    await rejectsWith(all(talker(other, "shared").logs()), "NOT_FOUND");
  } finally {
    await other.close();
  }
});

test("a service that never ran: NotFoundError naming its hostname", async () => {
  const client = await connect({ sessionId: sessionId("never") });
  try {
    const svc = talker(client, "never");
    const hostname = await svc.hostname();
    await rejectsWith(all(svc.logs()), "NOT_FOUND", new RegExp(`service ${hostname} has no logs in session .*: it has not run`));
    await rejectsWith(all(svc.logs({ follow: true })), "NOT_FOUND", new RegExp(hostname));
  } finally {
    await client.close();
  }
});

test("aborting a follow ends it with CancelledError and closes its handles", async ({ pid }) => {
  const client = await connect({ sessionId: sessionId("abort"), serviceGracePeriodMs: 0 });
  try {
    const svc = talker(client, "abort");
    await svc.start();
    const idle = logFds(pid);
    const abort = new AbortController();
    const follow = svc.logs({ follow: true, signal: abort.signal })[Symbol.asyncIterator]();
    await startup(follow);
    const waiting = follow.next(); // nothing more comes: it waits on the log
    abort.abort();
    await rejectsWith(waiting, "CANCELLED");
    assert.is(logFds(pid), idle);
    await rejectsWith(all(svc.logs({ signal: AbortSignal.abort() })), "CANCELLED");
  } finally {
    await client.close();
  }
});

test("options are checked at the call", async () => {
  const client = await connect({ sessionId: sessionId("options") });
  try {
    const svc = talker(client, "options");
    for (const bad of [{ tail: -1 }, { tail: 1.5 }, { tail: "2" }, { tail: Number.NaN }, { follow: "yes" }, { signal: "x" }]) {
      assert.throws(() => svc.logs(bad as never), isCode("INVALID_ARGUMENT"), JSON.stringify(bad));
    }
    assert.throws(() => svc.logs({ tail: -1 }), isCode("INVALID_ARGUMENT", /tail must be a non-negative integer/));
    // The engine's own door (the daemon's, over the wire, in the daemon pass) checks what reaches it without the API.
    const engine = await client.engine();
    const drain = async (it: AsyncIterable<string[]>) => {
      for await (const _ of it) void _;
    };
    for (const bad of [{ tail: -1 }, { tail: 2.5 }, { follow: 1 }]) {
      await rejectsWith(drain(engine.serviceLogs(svc.definition(), bad as never)), "INVALID_ARGUMENT", /tail|follow/);
    }
    const def = svc.definition();
    if (def.kind !== "container") throw new Error("a container service");
    await rejectsWith(drain(engine.serviceLogs({ ...def, args: ["a\0"] }, {})), "INVALID_ARGUMENT", /args\[0\]/);
  } finally {
    await client.close();
  }
});

test.run();
