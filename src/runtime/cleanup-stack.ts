// Undo steps recorded as resources are created and run in reverse, every one of them even when some fail: the way
// the runtime leaves nothing behind on errors, aborts and normal exits alike. Steps that talk to containerd are
// marked `retry`: while containerd does not answer (restarting) they are tried again with backoff, all of them
// together within one time budget, so cleanup completes across a restart but never blocks for ever.
import { debug } from "../common/debug.js";
import { DEFAULT_RETRY_BUDGET_MS, retryWhileUnavailable, type RetryClock } from "../containerd/index.js";

const log = debug("runtime");

export interface CleanupStackOptions {
  /** Time all `retry` steps of one run may spend waiting for containerd together (default 60 s). */
  retryBudgetMs?: number;
  clock?: RetryClock;
}

export interface CleanupStepOptions {
  /** Idempotent step against containerd: retried while containerd is unavailable. */
  retry?: boolean;
}

interface Step {
  name: string;
  fn: () => Promise<unknown>;
  retry: boolean;
}

/** A stack of async undo steps. */
export class CleanupStack {
  private readonly steps: Step[] = [];
  private running: Promise<unknown[]> | undefined;
  private readonly opts: CleanupStackOptions;

  constructor(opts: CleanupStackOptions = {}) {
    this.opts = opts;
  }

  /** Records an undo step; `name` appears in debug lines. */
  push(name: string, fn: () => Promise<unknown>, opts: CleanupStepOptions = {}): void {
    this.steps.push({ name, fn, retry: opts.retry ?? false });
  }

  /** Drops every recorded step without running it (ownership moved elsewhere). */
  clear(): void {
    this.steps.length = 0;
  }

  /** Runs the steps last-first, once; resolves with the errors the steps threw (empty: all clean). */
  run(): Promise<unknown[]> {
    this.running ??= (async () => {
      const errors: unknown[] = [];
      const clock = this.opts.clock;
      const deadline = (clock?.now() ?? Date.now()) + (this.opts.retryBudgetMs ?? DEFAULT_RETRY_BUDGET_MS);
      while (this.steps.length > 0) {
        const step = this.steps.pop()!;
        try {
          if (step.retry) await retryWhileUnavailable(step.fn, { deadline, what: `cleanup ${step.name}`, ...(clock ? { clock } : {}) });
          else await step.fn();
        } catch (err) {
          log("cleanup %s failed: %s", step.name, err);
          errors.push(err);
        }
      }
      return errors;
    })();
    return this.running;
  }
}
