// One TCP connect attempt: the health check's unit. It runs in whichever netns the calling process is in (the
// forward agent runs it inside the hub netns), and only opens and closes a connection — no bytes are sent.
import { connect } from "node:net";

/** Resolves true when ip:port accepts a connection within timeoutMs, false on refusal, unreachability or timeout. */
export function tcpProbe(ip: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: ip, port });
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // A plain close (FIN), as Dagger's check does: a reset would make many servers log an error for every probe
      // (Python's socketserver prints a ConnectionResetError traceback); an empty connection they ignore.
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once("connect", () => finish(true));
    socket.once("error", () => finish(false));
  });
}
