#!/usr/bin/env node
// `svc`: service containers from the shell (DESIGN.md §7). Commander reads the command line; each command is a
// module of its own in src/cli/commands/ and turns it into API calls; src/cli/exit-codes.ts maps failures to exit
// statuses (2 only for the command line itself).
import { Command, CommanderError, Option } from "commander";
import { readFileSync } from "node:fs";
import { SvcdError } from "../common/errors.js";
import { errorJson, exitStatus, EXIT_USAGE, UsageError } from "./exit-codes.js";
import { Interrupts } from "./interrupts.js";
import type { ProgressMode } from "./progress.js";

// Only what every command needs is imported up front: `svc --help` must not load gRPC, the engine or the bars.
const packageVersion = (): string => String((JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: unknown }).version ?? "0.0.0");

interface GlobalOptions {
  progress: ProgressMode;
  quiet?: boolean;
}

/** Set by the action that ran: its exit status, or the error it failed with. */
let outcome: { status: number } | { error: unknown; json: boolean } = { status: 0 };

function action<A extends unknown[]>(json: (...args: A) => boolean, run: (...args: A) => Promise<number>) {
  return async (...args: A) => {
    try {
      outcome = { status: await run(...args) };
    } catch (error) {
      outcome = { error, json: json(...args) };
    }
  };
}

function program(): Command {
  const svc = new Command("svc")
    .description("Service containers for TypeScript, on containerd: call a module's functions, expose services, operate them")
    .version(packageVersion(), "-V, --version", "print svc's version")
    .addOption(new Option("--progress <mode>", "progress output").choices(["auto", "plain", "tty"]).default("auto"))
    .option("-q, --quiet", "no progress output")
    .enablePositionalOptions()
    .showHelpAfterError("(svc --help lists the commands)")
    .exitOverride();
  const globals = () => svc.opts<GlobalOptions>();
  const interrupts = new Interrupts();

  svc
    .command("call")
    .description("call an exported function of a module, as `dagger call`: svc call -m hello.ts get")
    .requiredOption("-m, --mod <module>", "the module (.ts or .js) whose function to call")
    .option("-j, --json", "print the result as JSON")
    // svc's own -q and --progress are also taken after `call` (before the function), where users type them.
    .option("-q, --quiet", "no progress output")
    .addOption(new Option("--progress <mode>", "progress output").choices(["auto", "plain", "tty"]))
    .argument("<function>", "the function, kebab-case (httpService → http-service)")
    .argument("[words...]", "--<option> <value> for the function, then optionally: up [--ports F:B…] [--random] [--bind ADDR]")
    .passThroughOptions()
    .allowUnknownOption()
    .helpOption("-h, --help", "this text")
    .action(
      action(
        (_f: string, w: string[], o: { json?: boolean }) => !!o.json || w.includes("-j"),
        async (fn: string, given: string[], o: { mod: string; json?: boolean; quiet?: boolean; progress?: GlobalOptions["progress"] }) => {
          const { call } = await import("./commands/call.js");
          // -j may also follow the function (`svc call -m m.ts get -j`): it is never an option of a function.
          const words = given.filter((w) => w !== "-j");
          const json = !!o.json || words.length < given.length;
          const shown: GlobalOptions = { ...globals(), ...(o.quiet ? { quiet: true } : {}), ...(o.progress ? { progress: o.progress } : {}) };
          const progress = (await import("./progress.js")).progressReporter(shown);
          try {
            return await call({ module: o.mod, function: fn, words, json, ...(progress ? { onProgress: progress.onProgress } : {}) }, interrupts);
          } finally {
            progress?.stop();
          }
        },
      ),
    );

  svc
    .command("functions")
    .description("list a module's functions and their options")
    .requiredOption("-m, --mod <module>", "the module (.ts or .js)")
    .option("-j, --json", "print JSON")
    .action(
      action(
        (o: { json?: boolean }) => !!o.json,
        async (o: { mod: string; json?: boolean }) => (await import("./commands/functions.js")).functions({ module: o.mod, json: !!o.json }),
      ),
    );

  svc
    .command("version")
    .description("print svc's version and the daemon's, if one answers")
    .option("-j, --json", "print JSON")
    .action(action((o: { json?: boolean }) => !!o.json, async (o: { json?: boolean }) => (await import("./commands/version.js")).version({ json: !!o.json })));

  const json = (o: { json?: boolean }) => !!o.json;
  svc
    .command("ps")
    .description("list services: the daemon's when one answers, else every engine's on this machine")
    .option("-j, --json", "print JSON")
    .action(action(json, async (o: { json?: boolean }) => (await import("./commands/ps.js")).ps({ json: !!o.json })));

  svc
    .command("stop")
    .description("stop services by name: <hostname>[@<session>], a unique prefix is enough")
    .argument("<service...>", "the services")
    .option("--kill", "SIGKILL at once instead of SIGTERM (SIGKILL after 10 s)")
    .action(action((_n: string[], _o: unknown) => false, async (names: string[], o: { kill?: boolean }) => (await import("./commands/stop.js")).stop({ names, kill: !!o.kill })));

  svc
    .command("logs")
    .description("print a service's output (its current run, or the last run of a stopped one)")
    .argument("<service>", "<hostname>[@<session>], a unique prefix is enough")
    .option("-f, --follow", "go on until the service stops (or Ctrl-C)")
    .option("--tail <n>", "only the last n lines")
    .action(
      action((_n: string, _o: unknown) => false, async (name: string, o: { follow?: boolean; tail?: string }) =>
        (await import("./commands/logs.js")).logs({ name, follow: !!o.follow, ...(o.tail !== undefined ? { tail: o.tail } : {}) }, interrupts),
      ),
    );

  svc
    .command("prune")
    .description("remove build cache and old service logs that no live session uses")
    .option("--keep-storage <size>", "keep at most this much build cache (least recently used goes first), e.g. 10GB")
    .option("--older-than <duration>", "remove only what no session used for this long, e.g. 7d")
    .option("--all", "everything no live session uses, ignoring the configured policy")
    .option("-j, --json", "print JSON")
    .action(
      action(json, async (o: { keepStorage?: string; olderThan?: string; all?: boolean; json?: boolean }) =>
        (await import("./commands/prune.js")).prune({ ...o, all: !!o.all, json: !!o.json }),
      ),
    );

  svc
    .command("doctor")
    .description("check what svcd needs on this machine and print the fix for each missing piece")
    .option("-j, --json", "print JSON")
    .action(action(json, async (o: { json?: boolean }) => (await import("./commands/doctor.js")).doctor({ json: !!o.json })));

  const collect = (value: string, previous: string[]) => [...previous, value];
  svc
    .command("run")
    .description("run a command in a container; its output and exit code pass through")
    .argument("<image>", "the image, e.g. busybox")
    .argument("[command...]", "after --: the command and its arguments")
    .option("--env <K=V>", "an environment variable (repeatable)", collect, [])
    .option("--workdir <dir>", "the working directory")
    .option("--service <alias=uri>", "bind a host service, e.g. db=tcp://localhost:3306 (repeatable)", collect, [])
    .action(
      action(
        (_i: string, _c: string[], _o: unknown) => false,
        async (image: string, command: string[], o: { env: string[]; workdir?: string; service: string[] }) =>
          (await import("./commands/run.js")).run({ image, command, env: o.env, service: o.service, ...(o.workdir ? { workdir: o.workdir } : {}) }),
      ),
    );

  svc
    .command("up")
    .description("run an image as a service and forward host ports to it until Ctrl-C")
    .argument("<image>", "the image")
    .argument("[args...]", "after --: the service's command")
    .option("--port <F:B>", "FRONTEND:BACKEND[/udp] or BACKEND (repeatable)", collect, [])
    .option("--random", "pick free host ports")
    .option("--bind <addr>", "host address to listen on (default 127.0.0.1)")
    .action(
      action(
        (_i: string, _a: string[], _o: unknown) => false,
        async (image: string, args: string[], o: { port: string[]; random?: boolean; bind?: string }) =>
          (await import("./commands/up.js")).up({ image, args, port: o.port, random: !!o.random, ...(o.bind ? { bind: o.bind } : {}) }, interrupts),
      ),
    );

  return svc;
}

/**
 * Engine warnings (egress off, …) as svc's own lines — `svc: warning: <message>` — instead of node's default
 * format; none with -q, which keeps stderr for errors (and a command's own stderr) only.
 */
function routeWarnings(quiet: boolean): void {
  process.removeAllListeners("warning");
  process.on("warning", (w) => {
    if (!quiet) process.stderr.write(`svc: warning: ${w.message}\n`);
  });
}

async function main(argv: string[]): Promise<number> {
  const svc = program();
  // Before the parse, which runs the command: -q/--quiet anywhere before the command's own words.
  const quietAt = argv.findIndex((a) => a === "-q" || a === "--quiet");
  const commandAt = argv.findIndex((a) => !a.startsWith("-") && a !== "plain" && a !== "tty" && a !== "auto");
  routeWarnings(quietAt >= 0 && (commandAt < 0 || quietAt < commandAt));
  try {
    await svc.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end the parse with exit code 0; everything else commander refuses is a usage error.
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    throw err;
  }
  if ("status" in outcome) return outcome.status;
  const { error, json } = outcome;
  if (json) process.stdout.write(JSON.stringify(errorJson(error)) + "\n");
  // svcd's own errors say cause and fix in their message; anything else (a bug in a module's function) needs its stack.
  process.stderr.write(`svc: ${error instanceof Error ? (SvcdError.is(error) ? error.message : (error.stack ?? error.message)) : String(error)}\n`);
  if (error instanceof UsageError) process.stderr.write("(svc <command> --help for its usage)\n");
  return exitStatus(error);
}

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (err: unknown) => {
    process.stderr.write(`svc: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(exitStatus(err));
  },
);
