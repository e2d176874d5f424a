// `svc stop <service>…`: stops running services by name (SIGTERM, SIGKILL after 10 s; `--kill` at once). Every
// client bound to one fails with ServiceError, as when it exits.
import { printText } from "../call/print-result.js";
import { resolveServiceName, serviceName, serviceSource } from "../services.js";

export async function stop(opts: { names: string[]; kill: boolean }): Promise<number> {
  const source = await serviceSource();
  const running = (await source.list()).filter((s) => s.state === "running");
  const chosen = opts.names.map((n) => resolveServiceName(n, running));
  await source.stop(chosen, { kill: opts.kill });
  for (const s of chosen) printText(`stopped ${serviceName(s)}`);
  return 0;
}
