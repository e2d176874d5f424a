// `asService({ waitForLog })`: counts the service's output lines (stdout and stderr alike) that match a regular
// expression. Made before the service's process starts, so no line is missed however early it comes.
import { CancelledError } from "../../common/errors.js";
import type { LogWaitDef } from "../../definition/index.js";
import type { ServiceLogs } from "./service-logs.js";

export class LogWatch {
  readonly pattern: RegExp;
  readonly times: number;
  #count = 0;
  #resolve!: () => void;
  readonly #matched: Promise<void>;
  readonly #unsubscribe: () => void;

  constructor(logs: Pick<ServiceLogs, "onLine">, def: LogWaitDef) {
    this.pattern = new RegExp(def.pattern); // validated at the door; no flags: `test` keeps no state between lines
    this.times = def.times;
    this.#matched = new Promise((resolve) => (this.#resolve = resolve));
    this.#unsubscribe = logs.onLine((line) => this.#line(line));
  }

  /** Lines matched so far. */
  get count(): number {
    return this.#count;
  }

  /** Resolves once `times` lines matched; CancelledError when `signal` aborts first. */
  wait(signal: AbortSignal): Promise<void> {
    if (this.#count >= this.times) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(new CancelledError("waiting for the service's log cancelled", { cause: signal.reason }));
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      void this.#matched.then(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      });
    });
  }

  /** Stops counting (idempotent). */
  close(): void {
    this.#unsubscribe();
  }

  /** `/^ready$/ matched 0 of 1 lines`, for a timeout's message. */
  describe(): string {
    return `waitForLog /${this.pattern.source}/ matched ${this.#count} of ${this.times} line${this.times === 1 ? "" : "s"}`;
  }

  #line(line: string): void {
    if (this.#count >= this.times) return;
    // A program writing CRLF line ends still matches `$` at the end of its text.
    if (this.pattern.test(line.endsWith("\r") ? line.slice(0, -1) : line)) {
      this.#count += 1;
      if (this.#count >= this.times) {
        this.#resolve();
        this.#unsubscribe();
      }
    }
  }
}
