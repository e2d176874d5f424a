// `svc run IMAGE [--env K=V]... [--workdir DIR] [--service ALIAS=tcp://host:port]... -- CMD...`: runs a command in
// a container and passes on its output and exit code.
import { connect } from "../../api/index.js";
import { UsageError } from "../exit-codes.js";

export interface RunCommand {
  image: string;
  command: string[];
  env: string[];
  workdir?: string;
  service: string[];
}

export async function run(cmd: RunCommand): Promise<number> {
  if (cmd.command.length === 0) throw new UsageError("usage: svc run IMAGE [--env K=V] [--workdir DIR] [--service ALIAS=tcp://host:port] -- CMD...");
  const client = await connect();
  try {
    let c = client.container().from(cmd.image);
    if (cmd.workdir) c = c.withWorkdir(cmd.workdir);
    for (const kv of cmd.env) {
      const eq = kv.indexOf("=");
      if (eq <= 0) throw new UsageError(`--env ${JSON.stringify(kv)}: use NAME=value`);
      c = c.withEnvVariable(kv.slice(0, eq), kv.slice(eq + 1));
    }
    for (const spec of cmd.service) {
      const eq = spec.indexOf("=");
      if (eq <= 0) throw new UsageError(`--service ${JSON.stringify(spec)}: use ALIAS=tcp://host:port`);
      c = c.withServiceBinding(spec.slice(0, eq), client.service(spec.slice(eq + 1)));
    }
    const done = c.withExec(cmd.command, { expect: "ANY" });
    process.stdout.write(await done.stdout());
    process.stderr.write(await done.stderr());
    return await done.exitCode();
  } finally {
    await client.close();
  }
}
