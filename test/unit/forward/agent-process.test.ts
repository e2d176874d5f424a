// Every request to the forward agent has a timeout: a scripted agent (a fake child that reports ready and then
// never answers) makes the request fail with TimeoutError naming the request, and a late answer is dropped.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { EventEmitter } from "node:events";
import { PassThrough } from "node:stream";
import type { ChildProcess } from "node:child_process";
import { SvcdError } from "../../../src/common/errors.js";
import type { ProcessRunner } from "../../../src/common/process-runner.js";
import { AgentProcess, requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS } from "../../../src/forward/agent-process.js";

/** A child that says ready and records what it is sent; `answer` replies to a request later. */
function silentAgent() {
  const sent: { id: number; op: string }[] = [];
  const child = new EventEmitter() as ChildProcess;
  const channel = { ref() {}, unref() {} };
  Object.assign(child, {
    exitCode: null,
    signalCode: null,
    connected: true,
    channel,
    stderr: new PassThrough(),
    unref() {},
    ref() {},
    kill() {
      setImmediate(() => child.emit("exit", null, "SIGKILL"));
      return true;
    },
    disconnect() {
      (child as { connected: boolean }).connected = false;
      setImmediate(() => child.emit("exit", 0, null));
    },
    send(msg: { id: number; op: string }, _h: unknown, _o: unknown, cb?: (e: Error | null) => void) {
      sent.push(msg);
      cb?.(null);
      return true;
    },
  });
  const runner: ProcessRunner = {
    kind: "fake",
    spawn: () => {
      setImmediate(() => child.emit("message", { type: "ready", pid: 4242 }));
      return child;
    },
    run: async () => ({ exitCode: 0, signal: null, stdout: "", stderr: "" }),
  };
  const answer = (id: number) => child.emit("message", { type: "response", id, ok: true });
  return { runner, sent, answer };
}

test("a probe's deadline is the base plus its own connect timeout; other requests get the base", () => {
  assert.is(requestTimeoutMs({ op: "probe", timeoutMs: 1000 }, 30_000), 31_000);
  assert.is(requestTimeoutMs({ op: "listen" }, 30_000), 30_000);
  assert.is(DEFAULT_REQUEST_TIMEOUT_MS, 30_000);
});

test("a request the agent never answers fails with TimeoutError naming it; a late answer is dropped", async () => {
  const { runner, sent, answer } = silentAgent();
  const agent = await AgentProcess.spawn({ hubNetns: "/run/x/netns/hub", runner, requestTimeoutMs: 50 });
  const started = Date.now();
  const err = await agent.request({ op: "unlisten", forwardId: "f1" }).catch((e: unknown) => e);
  assert.ok(SvcdError.is(err), String(err));
  assert.is(err.code, "TIMEOUT");
  assert.match(err.message, /forward agent 4242 did not answer unlisten \(request 1\) within 50 ms/);
  assert.ok(Date.now() - started < 2000);
  answer(sent[0]!.id); // late: nothing pending any more, nothing thrown

  // An answered request still resolves.
  const ok = agent.request({ op: "unlisten", forwardId: "f2" });
  answer(sent[1]!.id);
  assert.is((await ok).ok, true);
  await agent.stop(10);
});

test.run();
