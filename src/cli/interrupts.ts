// SIGINT/SIGTERM for `svc`: the first one ends what is waiting on it (an `up` until Ctrl-C) or cancels the call in
// flight, so cleanup runs; a second one exits at once with 130 (the user insisted).
import { CancelledError } from "../common/errors.js";

export class Interrupts {
  readonly #controller = new AbortController();
  readonly #handler = (signal: NodeJS.Signals) => {
    if (this.#controller.signal.aborted) {
      process.stderr.write(`svc: ${signal} again: exiting without cleanup\n`);
      process.exit(130);
    }
    this.#controller.abort(new CancelledError(`interrupted by ${signal}`));
  };
  /** Resolves at the first signal. */
  readonly first: Promise<void>;

  constructor() {
    this.first = new Promise((resolve) => this.#controller.signal.addEventListener("abort", () => resolve(), { once: true }));
    process.on("SIGINT", this.#handler);
    process.on("SIGTERM", this.#handler);
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** `work`, or CancelledError once a signal came first. */
  race<T>(work: Promise<T>): Promise<T> {
    work.catch(() => {});
    if (this.#controller.signal.aborted) return Promise.reject(this.#controller.signal.reason);
    return Promise.race([work, this.first.then(() => Promise.reject(this.#controller.signal.reason as Error))]);
  }

  dispose(): void {
    process.off("SIGINT", this.#handler);
    process.off("SIGTERM", this.#handler);
  }
}
