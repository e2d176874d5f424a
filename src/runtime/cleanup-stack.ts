// Undo steps recorded as resources are created and run in reverse, every one of them even when some fail: the way
// the runtime leaves nothing behind on errors, aborts and normal exits alike.
import { debug } from "../common/debug.js";

const log = debug("runtime");

/** A stack of async undo steps. */
export class CleanupStack {
  private readonly steps: { name: string; fn: () => Promise<unknown> }[] = [];
  private running: Promise<unknown[]> | undefined;

  /** Records an undo step; `name` appears in debug lines. */
  push(name: string, fn: () => Promise<unknown>): void {
    this.steps.push({ name, fn });
  }

  /** Drops every recorded step without running it (ownership moved elsewhere). */
  clear(): void {
    this.steps.length = 0;
  }

  /** Runs the steps last-first, once; resolves with the errors the steps threw (empty: all clean). */
  run(): Promise<unknown[]> {
    this.running ??= (async () => {
      const errors: unknown[] = [];
      while (this.steps.length > 0) {
        const step = this.steps.pop()!;
        try {
          await step.fn();
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
