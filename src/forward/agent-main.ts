// The forward agent's entry point: a small Node process the engine starts inside the hub network namespace
// (`nsenter --net=<hub> -- node agent-main.js`) with an IPC channel. It reports `ready`, answers requests (see
// agent-protocol.ts), and exits when the channel closes — which is also what happens when the engine dies, so an
// agent never outlives its engine. Diagnostics go to stderr, whose tail the engine quotes when the agent fails.
import { Socket as DgramSocket } from "node:dgram";
import { Server, Socket } from "node:net";
import { AgentDispatcher, type EventSink } from "./agent-dispatcher.js";
import { parseEngineMessage, type AgentToEngine } from "./agent-protocol.js";
import { SendBudget } from "./send-budget.js";

function main(): void {
  const send = process.send?.bind(process);
  if (!send) {
    process.stderr.write("svcd forward agent: no IPC channel (start it through ForwardAgent.start)\n");
    process.exit(2);
  }
  const log = (line: string) => process.stderr.write(`svcd forward agent: ${line}\n`);
  const post = (msg: AgentToEngine, handle?: Server, sent?: () => void) => {
    if (!process.connected) return sent?.();
    send(msg, handle, {}, (err) => {
      if (err) log(`send failed: ${err.message}`);
      sent?.();
    });
  };
  // Datagrams to the engine are dropped when too many bytes wait in the channel; accepted sockets never are, and a
  // socket that could not be sent is destroyed (its client sees the connection end).
  const budget = new SendBudget();
  const emit: EventSink = (event, handle) => {
    if (!process.connected) return void handle?.destroy();
    if (event.type === "datagram") {
      const n = event.data.length;
      if (!budget.take(n)) return;
      return void send(event, undefined, {}, () => budget.give(n));
    }
    send(event, handle, {}, (err) => {
      if (!err) return;
      log(`could not pass a connection of ${event.forwardId} to the engine: ${err.message}`);
      handle?.destroy();
    });
  };
  const dispatcher = new AgentDispatcher(post, log, emit);
  process.on("message", (raw: unknown, handle: unknown) => {
    let msg;
    try {
      msg = parseEngineMessage(raw);
    } catch (err) {
      // A request we cannot read has no trustworthy id to answer: say so and drop what came with it.
      log((err as Error).message);
      if (handle instanceof Socket) handle.destroy();
      else if (handle instanceof Server) handle.close();
      else if (handle instanceof DgramSocket) handle.close();
      return;
    }
    dispatcher.handle(msg, handle);
  });
  process.on("disconnect", () => {
    // The engine closed the channel or died: stop forwarding and exit, whatever is still open.
    void dispatcher.closeAll().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  });
  process.on("uncaughtException", (err) => {
    log(`crashed: ${err.stack ?? err.message}`);
    process.exit(70);
  });
  post({ type: "ready", pid: process.pid });
}

main();
