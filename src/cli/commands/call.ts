// `svc call -m <module> <function> [--<option> <value>…] [up [--ports F:B…] [--random] [--bind ADDR]]`, as
// `dagger call`: loads the module, calls the exported function with one options object, prints what it returned
// (src/cli/call/print-result.ts) or, after `up`, exposes the returned Service until SIGINT/SIGTERM.
import { configureDag, dag, Service } from "../../api/index.js";
import type { ProgressEvent } from "../../definition/index.js";
import { UsageError } from "../exit-codes.js";
import { buildOptions, splitCallArgs, type UpArgs } from "../call/call-args.js";
import { printText, show } from "../call/print-result.js";
import { introspectModule, type FunctionInfo } from "../module/introspect.js";
import { loadModule, modulePath } from "../module/load-module.js";
import { kebabCase } from "../module/names.js";
import type { Interrupts } from "../interrupts.js";

export interface CallCommand {
  module: string;
  function: string;
  words: string[];
  json: boolean;
  onProgress?: (event: ProgressEvent) => void;
}

/** Runs the call; resolves with the exit status (failures throw, src/cli/exit-codes.ts maps them). */
export async function call(cmd: CallCommand, interrupts: Interrupts): Promise<number> {
  const path = modulePath(cmd.module);
  configureDag(cmd.onProgress ? { onProgress: cmd.onProgress } : {});
  try {
    const exports = await loadModule(path);
    const [name, fn] = findFunction(exports, cmd.function, path);
    // The module's declared options (types, required ones) matter only for a function that takes options or
    // when there are words to read: `get()` alone never loads the parser.
    const info = cmd.words.length > 0 || fn.length > 0 ? await describe(path, name) : undefined;
    const booleans = new Set(info?.options.filter((o) => o.kind === "boolean").map((o) => o.flag));
    const args = splitCallArgs(cmd.words, booleans);
    const options = buildOptions(args, info, (uri) => dag.service(uri));
    const result = await interrupts.race(Promise.resolve(fn(options)));
    if (args.up) return await up(result, cmd, args.up, interrupts);
    const shown = await interrupts.race(show(result));
    printText(cmd.json ? JSON.stringify(shown.json) : shown.text);
    return 0;
  } finally {
    await dag.close();
  }
}

async function up(result: unknown, cmd: CallCommand, request: UpArgs, interrupts: Interrupts): Promise<number> {
  if (!(result instanceof Service)) {
    throw new UsageError(`up: ${cmd.function} returned ${describeValue(result)}, not a Service`);
  }
  const handle = await interrupts.race(result.up({ ports: request.ports, random: request.random, ...(request.bind ? { bind: request.bind } : {}) }));
  try {
    const bind = request.bind ?? "127.0.0.1";
    if (cmd.json) printText(JSON.stringify({ hostname: await result.hostname(), ports: handle.ports.map((p) => ({ ...p, address: bind })) }));
    else for (const p of handle.ports) printText(`${bind}:${p.frontend} -> ${p.backend}/${p.protocol.toLowerCase()}`);
    if (!cmd.json && process.stderr.isTTY) process.stderr.write("svc: serving until Ctrl-C\n");
    // A follow of the service's log ends when the service does (stopped elsewhere, or it exited): then so does up.
    const watching = new AbortController();
    const ended = (async () => {
      for await (const _line of result.logs({ follow: true, tail: 0, signal: watching.signal })) {
        // only the end matters
      }
    })().then(
      () => true,
      () => !watching.signal.aborted,
    );
    const serviceEnded = await Promise.race([interrupts.first.then(() => false), ended]);
    watching.abort();
    await ended;
    if (serviceEnded) {
      process.stderr.write(`svc: the service ${await result.hostname()} stopped; up ends\n`);
      return 1;
    }
  } finally {
    await handle.close();
  }
  return 0;
}

/** The export `command` names (kebab-case, or the export's own name), which must be a function. */
function findFunction(exports: Record<string, unknown>, command: string, path: string): [string, (options: Record<string, unknown>) => unknown] {
  const functions = Object.entries(exports).filter((e): e is [string, (o: Record<string, unknown>) => unknown] => typeof e[1] === "function" && e[0] !== "default");
  const found = functions.find(([name]) => kebabCase(name) === command || name === command);
  if (!found) {
    const list = functions.map(([name]) => kebabCase(name)).join(", ");
    throw new UsageError(`${path} has no function ${JSON.stringify(command)}` + (list ? `; it exports: ${list}` : "; it exports no functions"));
  }
  return found;
}

async function describe(path: string, name: string): Promise<FunctionInfo | undefined> {
  return (await introspectModule(path)).find((f) => f.name === name);
}

function describeValue(v: unknown): string {
  if (v === undefined || v === null) return String(v);
  const name = typeof v === "object" ? ((v as object).constructor?.name ?? "object") : typeof v;
  return `${/^[aeiou]/i.test(name) ? "an" : "a"} ${name}`;
}
