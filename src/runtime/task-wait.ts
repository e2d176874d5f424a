// Tasks.Wait that survives a containerd restart. The shim, not containerd, owns the process and its exit status, so
// when containerd goes away the Wait call fails (UNAVAILABLE) while the process runs on: it is re-established once
// containerd answers again, and only an exit containerd reports counts. A task containerd no longer knows after the
// restart (its shim died too) is reported as gone, never as an exit code.
import { isUnavailable, retryWhileUnavailable, type RetryClock } from "../containerd/index.js";
import { NotFoundError, hasCode } from "../common/errors.js";
import { debug } from "../common/debug.js";
import type { RuntimeClient } from "./containerd-port.js";

const log = debug("runtime");

/** How long Wait keeps trying while containerd does not answer, per outage (default 5 min). */
export const WAIT_OUTAGE_BUDGET_MS = 5 * 60_000;

export interface WaitForExitOptions {
  /** Per outage: give up (EngineUnavailableError) when containerd stays away this long. */
  budgetMs?: number;
  clock?: RetryClock;
}

/** Resolves with the exit status containerd reports for the task (or one of its execs). */
export async function waitForExit(
  client: Pick<RuntimeClient, "tasks">,
  req: { container_id: string; exec_id?: string },
  opts: WaitForExitOptions = {},
): Promise<{ exitCode: number }> {
  const what = req.exec_id ? `${req.container_id}/${req.exec_id}` : req.container_id;
  let lostContainerd = false;
  try {
    const res = await retryWhileUnavailable(
      async () => {
        try {
          return await client.tasks.wait(req);
        } catch (err) {
          if (isUnavailable(err)) {
            if (!lostContainerd) log("%s: Wait lost containerd; re-establishing once it answers", what);
            lostContainerd = true;
          }
          throw err;
        }
      },
      {
        what: `Wait ${what}`,
        budgetMs: opts.budgetMs ?? WAIT_OUTAGE_BUDGET_MS,
        initialDelayMs: 50,
        maxDelayMs: 1000,
        // A Wait that stayed open for a while was connected: a later outage gets a budget of its own.
        resetAfterMs: 2000,
        ...(opts.clock ? { clock: opts.clock } : {}),
      },
    );
    return { exitCode: res.exit_status };
  } catch (err) {
    if (lostContainerd && hasCode(err, "NOT_FOUND")) {
      throw new NotFoundError(`process ${what} is gone: containerd restarted and no longer knows it (its shim exited too)`, { cause: err });
    }
    throw err;
  }
}
