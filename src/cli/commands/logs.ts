// `svc logs <service> [-f] [--tail N]`: a service's output (stdout and stderr merged), of its current run or the
// last run of a stopped one; `-f` follows until the service stops or Ctrl-C.
import { UsageError } from "../exit-codes.js";
import type { Interrupts } from "../interrupts.js";
import { resolveServiceName, serviceSource } from "../services.js";

export async function logs(opts: { name: string; follow: boolean; tail?: string }, interrupts: Interrupts): Promise<number> {
  let tail: number | undefined;
  if (opts.tail !== undefined) {
    if (!/^\d+$/.test(opts.tail)) throw new UsageError(`--tail ${JSON.stringify(opts.tail)}: use a number of lines`);
    tail = Number(opts.tail);
  }
  const source = await serviceSource();
  const entry = resolveServiceName(opts.name, await source.withRuns());
  try {
    for await (const line of source.logs(entry, { follow: opts.follow, ...(tail !== undefined ? { tail } : {}), signal: interrupts.signal })) {
      if (!process.stdout.write(`${line}\n`)) await new Promise((resolve) => process.stdout.once("drain", resolve));
    }
  } catch (err) {
    if (interrupts.signal.aborted) return 0; // Ctrl-C ends a follow: that is its normal end
    throw err;
  }
  return 0;
}
