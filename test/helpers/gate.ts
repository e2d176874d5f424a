// Promises a test settles by hand, for deterministic interleavings, and a deadline for events that must come.

export interface Gate<T = void> {
  promise: Promise<T>;
  open(value: T): void;
  fail(err: unknown): void;
  readonly settled: boolean;
}

export function gate<T = void>(): Gate<T> {
  let open!: (value: T) => void;
  let fail!: (err: unknown) => void;
  let settled = false;
  const promise = new Promise<T>((resolve, reject) => {
    open = (v) => { settled = true; resolve(v); };
    fail = (e) => { settled = true; reject(e); };
  });
  promise.catch(() => {});
  return { promise, open, fail, get settled() { return settled; } };
}

/** Resolves with the promise's value, or rejects naming `what` if it has not settled within `ms` (a test deadline). */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms)));
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Settles after every timer already due has fired (timers of equal delay fire in the order they were set). */
export function afterTimers(ms = 1): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether a promise has settled by now (after pending microtasks and I/O callbacks). */
export async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(() => (settled = true), () => (settled = true));
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
}
