// Joins two TCP sockets into one tunnel: bytes flow both ways through stream pipes (backpressure: a slow reader
// pauses the other side, nothing is buffered beyond the streams' high-water marks), a FIN on one side becomes a
// FIN on the other (half-close; both sockets need allowHalfOpen), and an error or reset on either side destroys both.
import type { Socket } from "node:net";

/** Pipes a ⇄ b until both directions have ended or either side fails; resolves when both sockets are closed. */
export function joinSockets(a: Socket, b: Socket): Promise<void> {
  a.allowHalfOpen = true;
  b.allowHalfOpen = true;
  const failed = (other: Socket) => (err?: Error) => {
    // A reset on one side is passed on as a reset, so the peer sees the failure instead of a clean end.
    if (err && !other.destroyed) other.resetAndDestroy();
    else if (!other.destroyed) other.destroy();
  };
  a.on("error", failed(b));
  b.on("error", failed(a));
  a.on("close", (hadError) => hadError && failed(b)());
  b.on("close", (hadError) => hadError && failed(a)());
  a.pipe(b);
  b.pipe(a);
  const closed = (s: Socket) => (s.closed ? Promise.resolve() : new Promise<void>((r) => s.once("close", () => r())));
  return Promise.all([closed(a), closed(b)]).then(() => undefined);
}
