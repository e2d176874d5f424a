// A small argv reader for `svc`: flags before `--`, everything after it passed through untouched.
import { InvalidArgumentError } from "../common/errors.js";

export interface ParsedArgs {
  positional: string[];
  /** Repeatable flags keep every value. */
  flags: Map<string, string[]>;
  /** What followed `--`. */
  rest: string[];
}

/** Parses `--name value`, `--name=value` and boolean `--name` (listed in `booleans`). */
export function parseArgs(argv: readonly string[], known: { values: readonly string[]; booleans: readonly string[] }): ParsedArgs {
  const out: ParsedArgs = { positional: [], flags: new Map(), rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      out.rest = argv.slice(i + 1);
      break;
    }
    if (!arg.startsWith("--")) {
      out.positional.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const add = (v: string) => out.flags.set(name, [...(out.flags.get(name) ?? []), v]);
    if (known.booleans.includes(name)) {
      add("true");
    } else if (known.values.includes(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new InvalidArgumentError(`--${name} needs a value`);
      add(value);
    } else {
      throw new InvalidArgumentError(`unknown option --${name}`);
    }
  }
  return out;
}
