// `logs()` across the daemon's session stream: the one request answered by a stream of LogLines messages, ended by
// its Response (or Failure). Both halves of its flow control live here: the daemon keeps at most LOG_WINDOW batches
// unacknowledged (LogsWindow), and the client acknowledges each batch as its reader takes it (RemoteLogStream), so a
// slow reader holds the daemon's read back instead of filling the client's memory. A Cancel ends the request; the
// client's iterator resolves its return() only once the daemon has ended it, so the daemon's files are closed then.
import { abortable } from "../common/abortable.js";
import { CancelledError, throwIfAborted } from "../common/errors.js";

/** Batches the daemon may send ahead of the client's acknowledgements. */
export const LOG_WINDOW = 8;

/** The daemon's half: credit for the batches the client has room for. */
export class LogsWindow {
  #credit = LOG_WINDOW;
  #wake: (() => void) | undefined;
  #waiting: Promise<void> | undefined;

  /** Waits until one more batch may be sent, and takes it. */
  async take(signal: AbortSignal): Promise<void> {
    while (this.#credit <= 0) {
      this.#waiting ??= new Promise<void>((resolve) => (this.#wake = resolve));
      await abortable(this.#waiting, signal, "sending logs");
    }
    this.#credit--;
  }

  /** The client took `batches` off its queue. */
  give(batches: number): void {
    this.#credit = Math.min(LOG_WINDOW, this.#credit + Math.max(0, batches));
    const wake = this.#wake;
    this.#waiting = undefined;
    this.#wake = undefined;
    wake?.();
  }
}

/** The daemon's loop for one logs request: each batch the engine yields goes out once the window has room. */
export async function sendLogs(lines: AsyncIterable<string[]>, window: LogsWindow, send: (batch: string[]) => void, signal: AbortSignal): Promise<void> {
  for await (const batch of lines) {
    await window.take(signal);
    throwIfAborted(signal);
    send(batch);
  }
}

/** The client's half: the batches received for one request, handed to its reader in order. */
export class RemoteLogStream {
  readonly #queue: string[][] = [];
  readonly #ack: (batches: number) => void;
  readonly #cancel: () => void;
  #done = false;
  #error: unknown;
  #wake: (() => void) | undefined;
  readonly #ended: Promise<void>;
  #resolveEnded!: () => void;

  /** `ack` tells the daemon a batch was taken; `cancel` asks it to end the request. */
  constructor(ack: (batches: number) => void, cancel: () => void) {
    this.#ack = ack;
    this.#cancel = cancel;
    this.#ended = new Promise<void>((resolve) => (this.#resolveEnded = resolve));
  }

  get done(): boolean {
    return this.#done;
  }

  /** A LogLines message arrived. */
  push(lines: string[]): void {
    if (this.#done) return;
    this.#queue.push(lines);
    this.#signal();
  }

  /** The request ended: its Response (no error), its Failure, or the stream's end. */
  end(error?: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#error = error;
    this.#signal();
    this.#resolveEnded();
  }

  /** The next batch, or undefined at the end; throws the request's failure, or CancelledError when `signal` aborts. */
  async next(signal?: AbortSignal): Promise<string[] | undefined> {
    for (;;) {
      if (signal?.aborted) throw new CancelledError("reading the logs cancelled", { cause: signal.reason });
      const batch = this.#queue.shift();
      if (batch) {
        if (!this.#done) this.#ack(1);
        return batch;
      }
      if (this.#done) {
        if (this.#error !== undefined) throw this.#error;
        return undefined;
      }
      await abortable(new Promise<void>((resolve) => (this.#wake = resolve)), signal, "reading the logs");
    }
  }

  /** Ends the request if it is still going (a Cancel), and resolves once the daemon has ended it. */
  async close(): Promise<void> {
    this.#queue.length = 0;
    if (this.#done) return;
    this.#cancel();
    await this.#ended;
  }

  #signal(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
