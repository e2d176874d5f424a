// A byte budget for datagrams in flight on the IPC channel: process.send() queues without limit when the peer reads
// slowly, so UDP relaying over IPC takes bytes from this budget per message and gives them back when the send
// completes; a datagram that does not fit is dropped (UDP may lose datagrams, memory may not grow).

/** Default: 4 MiB of datagrams in flight per direction. */
export const DEFAULT_IPC_BUDGET_BYTES = 4 * 1024 * 1024;

/** Counts bytes in flight against a fixed limit. */
export class SendBudget {
  private inFlight = 0;
  /** Datagrams refused since creation, for debug lines and tests. */
  dropped = 0;

  constructor(private readonly limit: number = DEFAULT_IPC_BUDGET_BYTES) {}

  /** Takes n bytes when they fit (true), else counts a drop (false). */
  take(n: number): boolean {
    if (this.inFlight + n > this.limit) {
      this.dropped++;
      return false;
    }
    this.inFlight += n;
    return true;
  }

  /** Gives back n bytes taken earlier. */
  give(n: number): void {
    this.inFlight = Math.max(0, this.inFlight - n);
  }
}
