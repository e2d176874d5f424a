// Work shared by concurrent callers (a build step, an image pull): one run per key, each caller waits on it with its
// own signal. A caller's abort ends only its own wait; the work is cancelled when its last waiter has gone (every
// waiter's signal includes the session's, so a session's close cancels what it started).
import { CancelledError } from "./errors.js";
import { abortable } from "./abortable.js";
import { PendingWork } from "./pending-work.js";

export interface SingleFlightOptions {
  /** Keep a successful result for later callers (a memo); otherwise a key is forgotten once its work settles. */
  remember?: boolean;
  /** Names the work in the CancelledError of a caller that gave up waiting. */
  what?: string;
}

interface Flight<V> {
  result: Promise<V>;
  waiters: number;
  settled: boolean;
  cancel: AbortController;
}

export class SingleFlight<K, V> {
  readonly #flights = new Map<K, Flight<V>>();
  /** Every run not yet settled, abandoned ones included (their cleanup may still be under way). */
  readonly #running = new PendingWork();
  readonly #remember: boolean;
  readonly #what: string;

  constructor(opts: SingleFlightOptions = {}) {
    this.#remember = opts.remember ?? false;
    this.#what = opts.what ?? "shared work";
  }

  /** Joins the run for `key` (starting `work` when there is none) and waits for it until `signal` aborts. */
  run(key: K, work: (signal: AbortSignal) => Promise<V>, signal?: AbortSignal): Promise<V> {
    if (signal?.aborted) return Promise.reject(new CancelledError(`${this.#what} cancelled`, { cause: signal.reason }));
    const flight = this.#flights.get(key) ?? this.#start(key, work);
    flight.waiters++;
    const wait = abortable(flight.result, signal, this.#what);
    const leave = () => {
      flight.waiters--;
      if (flight.waiters > 0 || flight.settled) return;
      // Nobody waits for it any more: stop the work, and let the next caller start afresh.
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
      flight.cancel.abort(new CancelledError(`${this.#what} cancelled: every caller went away`));
    };
    wait.then(leave, leave);
    return wait;
  }

  /** Resolves once every run has settled, abandoned ones included: the session waits for their cleanup. */
  async drain(): Promise<void> {
    await this.#running.drain();
  }

  /** How many keys have work under way or a remembered result (for tests and diagnostics). */
  get size(): number {
    return this.#flights.size;
  }

  #start(key: K, work: (signal: AbortSignal) => Promise<V>): Flight<V> {
    const cancel = new AbortController();
    const flight: Flight<V> = { result: Promise.resolve().then(() => work(cancel.signal)), waiters: 0, settled: false, cancel };
    this.#flights.set(key, flight);
    const forget = () => {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
    };
    flight.result.then(
      () => {
        flight.settled = true;
        if (!this.#remember) forget();
      },
      () => {
        flight.settled = true;
        forget(); // a failed or cancelled run is not remembered: the next caller tries again
      },
    );
    this.#running.add(flight.result); // the waiters see its rejection
    return flight;
  }
}
