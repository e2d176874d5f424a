// The supervisor's command line, built by the engine and parsed by the supervisor process: one place for both sides.
import { fileURLToPath } from "node:url";
import { InvalidArgumentError } from "../common/errors.js";

export interface SupervisorArgs {
  socket: string;
  log: string;
  logMaxBytes: number;
  pidFile: string;
  childPidFile: string;
  /** Created (mkdir -p) before containerd starts: rootless mode's /run/containerd, where the shim puts its sockets. */
  makeDirs: string[];
  program: string;
  args: string[];
}

/** The argv after the entry file. */
export function formatSupervisorArgs(a: SupervisorArgs): string[] {
  return [
    "--socket", a.socket,
    "--log", a.log,
    "--log-max-bytes", String(a.logMaxBytes),
    "--pid-file", a.pidFile,
    "--child-pid-file", a.childPidFile,
    ...a.makeDirs.flatMap((d) => ["--make-dir", d]),
    "--", a.program, ...a.args,
  ];
}

/** Parses what formatSupervisorArgs wrote; InvalidArgumentError for anything else. */
export function parseSupervisorArgs(argv: readonly string[]): SupervisorArgs {
  const sep = argv.indexOf("--");
  if (sep < 0 || sep === argv.length - 1) throw new InvalidArgumentError("supervisor: `-- <program> [args…]` is missing");
  const flags = new Map<string, string>();
  const makeDirs: string[] = [];
  for (let i = 0; i < sep; i += 2) {
    const [k, v] = [argv[i]!, argv[i + 1]];
    if (!k.startsWith("--") || v === undefined || i + 1 >= sep) throw new InvalidArgumentError(`supervisor: bad option ${JSON.stringify(k)}`);
    if (k === "--make-dir") {
      if (!v.startsWith("/")) throw new InvalidArgumentError(`supervisor: --make-dir needs an absolute path, got ${JSON.stringify(v)}`);
      makeDirs.push(v);
    } else flags.set(k.slice(2), v);
  }
  const need = (k: string) => {
    const v = flags.get(k);
    if (!v) throw new InvalidArgumentError(`supervisor: --${k} is required`);
    return v;
  };
  const logMaxBytes = Number(need("log-max-bytes"));
  if (!Number.isSafeInteger(logMaxBytes) || logMaxBytes <= 0) throw new InvalidArgumentError(`supervisor: bad --log-max-bytes ${flags.get("log-max-bytes")}`);
  return {
    socket: need("socket"),
    log: need("log"),
    logMaxBytes,
    pidFile: need("pid-file"),
    childPidFile: need("child-pid-file"),
    makeDirs,
    program: argv[sep + 1]!,
    args: argv.slice(sep + 2),
  };
}

/** How node runs the supervisor: the entry next to this module, with tsx's loader when running from sources. */
export function supervisorEntry(moduleUrl: string = import.meta.url): string[] {
  const ts = moduleUrl.endsWith(".ts");
  const file = fileURLToPath(new URL(ts ? "./supervisor-main.ts" : "./supervisor-main.js", moduleUrl));
  if (!ts) return [file];
  let loader = "tsx";
  try {
    loader = import.meta.resolve("tsx");
  } catch {
    // Fall back to resolution from the supervisor's working directory.
  }
  return ["--import", loader, file];
}
