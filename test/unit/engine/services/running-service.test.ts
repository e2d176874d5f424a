// RunningService.stop()'s contract against a scripted task: SIGTERM, SIGKILL once the grace is over (the 10 s
// default is checked with a real container in test/integration/services/races.test.ts), resolved only when the
// process has exited; `kill` at once; a later stop({ kill: true }) escalates a SIGTERM stop under way.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { RunningService, TERMINATE_GRACE_MS, type ServiceTask } from "../../../../src/engine/services/running-service.js";
import type { ServiceLogs } from "../../../../src/engine/services/service-logs.js";
import { gate, isSettled, within } from "../../../helpers/gate.js";

/** A task that ignores SIGTERM (like `sh -c 'trap "" TERM; …'`) and exits when the test says, or on SIGKILL. */
function stubbornTask() {
  const exit = gate<{ exitCode: number }>();
  const signals: string[] = [];
  const killed = gate<void>();
  let exitOnKill = true;
  const task = {
    id: "svc-1",
    wait: () => exit.promise,
    kill: async (signal: string | number) => {
      signals.push(String(signal));
      if (signal === "SIGKILL") {
        killed.open();
        if (exitOnKill) queueMicrotask(() => exit.open({ exitCode: 137 }));
      }
    },
    delete: async () => {},
  } as unknown as ServiceTask;
  return { task, exit, signals, killed, holdExit: () => (exitOnKill = false) };
}

function service(task: ServiceTask, terminateGraceMs?: number): RunningService {
  const logs = { write: () => {}, tail: () => "", close: async () => {} } as unknown as ServiceLogs;
  return new RunningService({
    key: "k",
    hostname: "svc",
    task,
    network: { ip: "10.87.0.2", detach: async () => {} },
    logs,
    volumes: [],
    releaseBindings: () => {},
    unpublish: async () => {},
    ...(terminateGraceMs !== undefined ? { terminateGraceMs } : {}),
  });
}

test("the default SIGTERM → SIGKILL delay is 10 s", () => {
  assert.is(TERMINATE_GRACE_MS, 10_000);
});

test("a process that ignores SIGTERM gets SIGKILL after the grace, and stop() resolves only once it has exited", async () => {
  const t = stubbornTask();
  t.holdExit();
  const svc = service(t.task, 20);
  const stopping = svc.stop({ kill: false });
  await within(t.killed.promise, 2000, "SIGKILL");
  assert.equal(t.signals, ["SIGTERM", "SIGKILL"]);
  assert.not.ok(await isSettled(stopping), "not resolved before the process has exited");
  t.exit.open({ exitCode: 137 });
  await within(stopping, 2000, "stop");
  assert.is(svc.exitCode, 137);
});

test("kill: SIGKILL at once, resolved after the exit", async () => {
  const t = stubbornTask();
  const svc = service(t.task, 60_000);
  await within(svc.stop({ kill: true }), 2000, "stop");
  assert.equal(t.signals, ["SIGKILL"]);
});

test("stop({ kill: true }) during a SIGTERM stop escalates at once; both resolve after the exit", async () => {
  const t = stubbornTask();
  const svc = service(t.task, 60_000);
  const first = svc.stop({ kill: false });
  await new Promise((r) => setImmediate(r));
  assert.equal(t.signals, ["SIGTERM"]);
  const second = svc.stop({ kill: true });
  await within(Promise.all([first, second]), 2000, "both stops");
  assert.equal(t.signals, ["SIGTERM", "SIGKILL"]);
});

test("a process that exits on SIGTERM is not killed", async () => {
  const t = stubbornTask();
  const task = { ...t.task, kill: async (signal: string) => { t.signals.push(signal); if (signal === "SIGTERM") t.exit.open({ exitCode: 0 }); } } as unknown as ServiceTask;
  const svc = service(task, 60_000);
  await within(svc.stop({ kill: false }), 2000, "stop");
  assert.equal(t.signals, ["SIGTERM"]);
  await svc.finished;
});

test.run();
