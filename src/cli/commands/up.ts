// `svc up IMAGE --port FRONTEND:BACKEND[/udp]... [--random] [--bind ADDR] -- ARGS...`: runs the image as a service
// and forwards host ports to it until interrupted.
import { InvalidArgumentError } from "../../common/errors.js";
import type { Client } from "../../api/index.js";
import { parseArgs } from "../argv.js";

export async function up(client: Client, argv: readonly string[], signal: AbortSignal): Promise<number> {
  const args = parseArgs(argv, { values: ["port", "bind"], booleans: ["random"] });
  const [image] = args.positional;
  const ports = (args.flags.get("port") ?? []).map((spec) => {
    const m = /^(?:(\d+):)?(\d+)(?:\/(tcp|udp))?$/i.exec(spec);
    if (!m) throw new InvalidArgumentError(`--port ${JSON.stringify(spec)}: use FRONTEND:BACKEND or BACKEND, optionally /udp`);
    const protocol = m[3]?.toLowerCase() === "udp" ? ("UDP" as const) : ("TCP" as const);
    return { ...(m[1] ? { frontend: Number(m[1]) } : {}), backend: Number(m[2]), protocol };
  });
  if (!image || ports.length === 0) throw new InvalidArgumentError("usage: svc up IMAGE --port FRONTEND:BACKEND [--random] [--bind ADDR] [-- ARGS...]");
  let c = client.container().from(image);
  for (const p of ports) c = c.withExposedPort(p.backend, { protocol: p.protocol });
  const svc = c.asService(args.rest.length > 0 ? { args: args.rest } : {});
  const bind = args.flags.get("bind")?.at(-1);
  const handle = await svc.up({ ports, random: args.flags.has("random"), ...(bind ? { bind } : {}) });
  for (const p of handle.ports) process.stdout.write(`${bind ?? "127.0.0.1"}:${p.frontend} -> ${p.backend}/${p.protocol.toLowerCase()}\n`);
  await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
  await handle.close();
  return 0;
}
