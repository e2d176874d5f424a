// `svc up IMAGE --port FRONTEND:BACKEND[/udp]... [--random] [--bind ADDR] [-- ARGS...]`: runs the image as a service
// and forwards host ports to it until SIGINT/SIGTERM.
import { connect } from "../../api/index.js";
import { UsageError } from "../exit-codes.js";
import { parseUpArgs } from "../call/call-args.js";
import type { Interrupts } from "../interrupts.js";
import { printText } from "../call/print-result.js";

export interface UpCommand {
  image: string;
  args: string[];
  port: string[];
  random: boolean;
  bind?: string;
}

export async function up(cmd: UpCommand, interrupts: Interrupts): Promise<number> {
  const { ports } = parseUpArgs(cmd.port.flatMap((p) => ["--ports", p]));
  if (ports.length === 0) throw new UsageError("usage: svc up IMAGE --port FRONTEND:BACKEND [--random] [--bind ADDR] [-- ARGS...]");
  const client = await connect();
  try {
    let c = client.container().from(cmd.image);
    for (const p of ports) c = c.withExposedPort(p.backend, { protocol: p.protocol });
    const svc = c.asService(cmd.args.length > 0 ? { args: cmd.args } : {});
    const handle = await interrupts.race(svc.up({ ports, random: cmd.random, ...(cmd.bind ? { bind: cmd.bind } : {}) }));
    try {
      for (const p of handle.ports) printText(`${cmd.bind ?? "127.0.0.1"}:${p.frontend} -> ${p.backend}/${p.protocol.toLowerCase()}`);
      await interrupts.first;
    } finally {
      await handle.close();
    }
    return 0;
  } finally {
    await client.close();
  }
}
