// waitForExit against a scripted Tasks.Wait: containerd going away is not an exit; the Wait is made again and the
// exit containerd then reports is the one returned; a task lost in the restart is reported as gone.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { EngineUnavailableError, NotFoundError, SvcdError } from "../../../src/common/errors.js";
import { waitForExit } from "../../../src/runtime/task-wait.js";
import type { RetryClock } from "../../../src/containerd/index.js";

const clock: RetryClock = { now: () => 0, sleep: async () => {} };
const down = () => new EngineUnavailableError("containerd is not answering");

/** A tasks.wait that plays `script` in order: an error to throw or an exit status to return. */
function scripted(script: (Error | number)[]) {
  const calls: unknown[] = [];
  const client = {
    tasks: {
      wait: async (req: unknown) => {
        calls.push(req);
        const next = script.shift();
        if (next === undefined) throw new Error("script exhausted");
        if (next instanceof Error) throw next;
        return { exit_status: next };
      },
    },
  };
  return { client: client as unknown as Parameters<typeof waitForExit>[0], calls };
}

test("an exit reported at once is returned", async () => {
  const { client, calls } = scripted([3]);
  assert.equal(await waitForExit(client, { container_id: "c" }, { clock }), { exitCode: 3 });
  assert.is(calls.length, 1);
});

test("UNAVAILABLE is not an exit: the Wait is re-established and containerd's answer counts", async () => {
  const { client, calls } = scripted([down(), down(), down(), 0]);
  assert.equal(await waitForExit(client, { container_id: "c", exec_id: "e" }, { clock }), { exitCode: 0 });
  assert.is(calls.length, 4);
  assert.equal(calls[3], { container_id: "c", exec_id: "e" });
});

test("a task containerd no longer knows after the restart is reported as gone, not as an exit", async () => {
  const { client } = scripted([down(), new NotFoundError("no such task")]);
  const err = await waitForExit(client, { container_id: "c" }, { clock }).catch((e: unknown) => e);
  assert.instance(err, NotFoundError);
  assert.match((err as Error).message, /containerd restarted and no longer knows it/);
});

test("NOT_FOUND without an outage passes through as it is", async () => {
  const gone = new NotFoundError("no such task");
  const { client } = scripted([gone]);
  assert.is(await waitForExit(client, { container_id: "c" }, { clock }).catch((e: unknown) => e), gone);
});

test("containerd that never comes back: UNAVAILABLE once the outage budget is spent", async () => {
  let t = 0;
  const ticking: RetryClock = { now: () => t, sleep: async (ms) => void (t += ms) };
  const { client, calls } = scripted(Array.from({ length: 1000 }, down));
  const err = await waitForExit(client, { container_id: "c" }, { clock: ticking, budgetMs: 10_000 }).catch((e: unknown) => e);
  assert.ok(SvcdError.is(err) && err.code === "UNAVAILABLE");
  assert.is(t, 10_000);
  assert.ok(calls.length > 5 && calls.length < 100, String(calls.length));
});

test.run();
