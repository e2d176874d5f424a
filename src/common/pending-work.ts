// Work that goes on after its caller has its answer (a detach, a teardown, an abandoned run), tracked so that whoever
// ends the owner can wait for all of it, work added while it waits included.
export class PendingWork {
  readonly #pending = new Set<Promise<void>>();

  /** Tracks `work` until it settles. Its outcome stays the caller's to handle: this only waits for it. */
  add(work: Promise<unknown>): void {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.#pending.add(settled);
    void settled.then(() => this.#pending.delete(settled));
  }

  /** Resolves once nothing added is under way. */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }
}
