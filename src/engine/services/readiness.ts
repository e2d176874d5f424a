// When a started service is ready for its clients: every check configured passes — its exposed TCP ports accept a
// connection from inside the hub, its healthcheck command succeeds, its output matched `waitForLog` — all within
// one overall limit (`healthcheckTimeoutMs`). The checks run side by side; the first failure ends the others. A
// service that exits first fails with its exit status, an unhealthy one with its check's last output, a timeout
// with what was still missing; each ServiceError carries the service's log tail.
import { setTimeout as sleep } from "node:timers/promises";
import { ServiceError, SvcdError, TimeoutError } from "../../common/errors.js";
import type { ForwardAgent } from "../../forward/index.js";
import type { RunningTask } from "../../runtime/index.js";
import type { PlannedHealthcheck } from "../healthcheck-config.js";
import type { ExposedPort } from "../plan.js";
import { describeTry, execProbe, runHealthcheck, type HealthcheckProgress } from "./healthcheck-runner.js";
import type { LogWatch } from "./log-watch.js";
import type { RunningService } from "./running-service.js";

/** A command for a message: JSON (no newline can forge a log line), cut at 200 characters. */
function commandText(args: readonly string[]): string {
  const text = JSON.stringify(args);
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/** How long an exec that failed (rather than exited non-zero) waits for the service's exit to be reported. */
const EXIT_SETTLE_MS = 1000;

export interface ReadinessChecks {
  /** Exposed ports: the TCP ones without experimentalSkipHealthcheck are probed. */
  ports: readonly ExposedPort[];
  healthcheck?: PlannedHealthcheck | undefined;
  /** Made before the process started (so it saw every line); closed here when the wait ends. */
  logWatch?: LogWatch | undefined;
}

export interface ReadinessTarget {
  service: Pick<RunningService, "hostname" | "ip" | "exited" | "exitCode" | "logs">;
  /** The service's task, for healthcheck execs. */
  task: Pick<RunningTask, "execRun">;
  agent: () => Promise<ForwardAgent>;
}

/** Resolves once every configured check passed; rejects with ServiceError (or the caller's cancellation). */
export async function waitUntilReady(target: ReadinessTarget, checks: ReadinessChecks, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const { service } = target;
  const tcp = checks.ports.filter((p) => p.protocol === "TCP" && !p.skipHealthcheck);
  const { healthcheck, logWatch } = checks;
  if (tcp.length === 0 && !healthcheck && !logWatch) return;
  const waitingPorts = new Set(tcp.map((p) => p.port));
  const progress: HealthcheckProgress = { tries: 0, failures: 0 };
  let healthy = false;
  const stop = new AbortController();
  const deadline = setTimeout(() => stop.abort(new TimeoutError(`not ready within ${timeoutMs} ms`)), timeoutMs);
  const signals = AbortSignal.any([stop.signal, signal]);
  const fail = (reason: string, cause?: unknown) =>
    new ServiceError({ service: service.hostname, reason, logs: service.logs.tail() }, cause === undefined ? undefined : { cause });

  // An exit ends the wait at once; the catch below says why.
  const exited = service.exited.then(() => Promise.reject(new ServiceError({ service: service.hostname, reason: "exited" })));
  exited.catch(() => {});
  const waits: Promise<void>[] = [];
  if (tcp.length > 0) {
    waits.push(
      target.agent().then((agent) =>
        Promise.all(
          tcp.map(async (p) => {
            await agent.waitForPort(service.ip, p.port, { timeoutMs, signal: signals, shouldStop: () => service.exitCode !== undefined });
            waitingPorts.delete(p.port);
          }),
        ).then(() => undefined),
      ),
    );
  }
  if (healthcheck) {
    waits.push(
      (async () => {
        const verdict = await runHealthcheck(execProbe(target.task), healthcheck, { signal: signals, progress });
        if (verdict.healthy) {
          healthy = true;
          return;
        }
        // An exec that could not run is most often the service exiting under it: let that exit be the reason.
        if (verdict.last.execFailed) await Promise.race([service.exited, sleep(EXIT_SETTLE_MS, undefined, { signal: signals }).catch(() => {})]);
        if (service.exitCode !== undefined) throw fail("exited"); // the catch below reports the exit
        throw fail(`healthcheck ${commandText(healthcheck.args)} failed ${verdict.failures} time${verdict.failures === 1 ? "" : "s"} in a row: ${describeTry(verdict.last, healthcheck.timeoutMs)}`);
      })(),
    );
  }
  if (logWatch) waits.push(logWatch.wait(signals));

  try {
    await Promise.race([exited, Promise.all(waits)]);
    if (service.exitCode !== undefined) throw fail("exited"); // a check may pass just as the process ends
  } catch (err) {
    // RunningService records the exit code before `exited` resolves.
    if (service.exitCode !== undefined) {
      throw new ServiceError({ service: service.hostname, reason: `exited with code ${service.exitCode} before it was healthy`, exitCode: service.exitCode, logs: service.logs.tail() });
    }
    if (signal.aborted) throw err;
    if (err instanceof ServiceError) throw err;
    if (stop.signal.aborted || (SvcdError.is(err) && err.code === "TIMEOUT")) {
      const missing: string[] = [];
      if (waitingPorts.size > 0) missing.push(`ports ${[...waitingPorts].join(", ")} never accepted a connection`);
      if (healthcheck && !healthy) {
        const last = progress.last ? `; last try: ${describeTry(progress.last, healthcheck.timeoutMs)}` : "";
        missing.push(`healthcheck ${commandText(healthcheck.args)} had not succeeded (${progress.tries} tr${progress.tries === 1 ? "y" : "ies"}${last})`);
      }
      if (logWatch && logWatch.count < logWatch.times) missing.push(logWatch.describe());
      throw fail(`health check timed out after ${timeoutMs} ms: ${missing.join("; ") || "not ready"}`, err);
    }
    throw err;
  } finally {
    clearTimeout(deadline);
    stop.abort();
    logWatch?.close();
  }
}
