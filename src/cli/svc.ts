#!/usr/bin/env node
// `svc`: service containers from the shell, on an embedded engine. Thin: each command turns argv into API calls.
import { connect } from "../api/index.js";
import { InvalidArgumentError } from "../common/errors.js";
import { exitStatus } from "./exit-codes.js";
import { run } from "./commands/run.js";
import { up } from "./commands/up.js";

const USAGE = `usage: svc <command> ...
  svc run IMAGE [--env K=V] [--workdir DIR] [--service ALIAS=tcp://host:port] -- CMD...
  svc up IMAGE --port FRONTEND:BACKEND[/udp] [--random] [--bind ADDR] [-- ARGS...]
Environment: SVCD_REGISTRY_MIRRORS=docker.io=http://127.0.0.1:5000, CONTAINERD_ADDRESS, DEBUG=svcd:*`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "help" || command === "--help") {
    process.stdout.write(USAGE + "\n");
    return command ? 0 : 2;
  }
  if (command !== "run" && command !== "up") throw new InvalidArgumentError(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
  const interrupted = new AbortController();
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => interrupted.abort());
  const client = await connect();
  try {
    return command === "run" ? await run(client, rest) : await up(client, rest, interrupted.signal);
  } finally {
    await client.close();
  }
}

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (err: unknown) => {
    process.stderr.write(`svc: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(exitStatus(err));
  },
);
