// `svc run IMAGE [--env K=V]... [--workdir DIR] [--service ALIAS=tcp://host:port]... -- CMD...`: runs a command in
// a container and passes on its output and exit code.
import { InvalidArgumentError } from "../../common/errors.js";
import type { Client } from "../../api/index.js";
import { parseArgs } from "../argv.js";

export async function run(client: Client, argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { values: ["env", "workdir", "service"], booleans: [] });
  const [image] = args.positional;
  if (!image || args.rest.length === 0) throw new InvalidArgumentError("usage: svc run IMAGE [--env K=V] [--workdir DIR] [--service ALIAS=tcp://host:port] -- CMD...");
  let c = client.container().from(image);
  if (args.flags.has("workdir")) c = c.withWorkdir(args.flags.get("workdir")!.at(-1)!);
  for (const kv of args.flags.get("env") ?? []) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw new InvalidArgumentError(`--env ${JSON.stringify(kv)}: use NAME=value`);
    c = c.withEnvVariable(kv.slice(0, eq), kv.slice(eq + 1));
  }
  for (const spec of args.flags.get("service") ?? []) {
    const eq = spec.indexOf("=");
    if (eq <= 0) throw new InvalidArgumentError(`--service ${JSON.stringify(spec)}: use ALIAS=tcp://host:port`);
    c = c.withServiceBinding(spec.slice(0, eq), client.service(spec.slice(eq + 1)));
  }
  const done = c.withExec(args.rest, { expect: "ANY" });
  process.stdout.write(await done.stdout());
  process.stderr.write(await done.stderr());
  return done.exitCode();
}
