// The words after `svc call -m <module> <function>`: the function's `--<option> <value>` pairs, then optionally
// `up [--ports F:B…] [--random] [--bind ADDR]`. Values become what the option's type asks for; a `tcp://` or
// `udp://` value for an option that is not a plain string, number or boolean becomes a host service.
import type { FunctionInfo, OptionInfo } from "../module/introspect.js";
import { UsageError } from "../exit-codes.js";

/** What the command line asked of the function and of `up`. */
export interface CallArgs {
  /** Per option flag (kebab-case), the raw values in order; `true` for a flag given without a value. */
  flags: Map<string, (string | true)[]>;
  up?: UpArgs;
}

export interface UpArgs {
  ports: { frontend?: number; backend: number; protocol: "TCP" | "UDP" }[];
  random: boolean;
  bind?: string;
}

/** Splits the words; `booleans` are flags that take no value (known from the module's types). */
export function splitCallArgs(words: readonly string[], booleans: ReadonlySet<string> = new Set()): CallArgs {
  const flags = new Map<string, (string | true)[]>();
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word === "up") return { flags, up: parseUpArgs(words.slice(i + 1)) };
    if (!word.startsWith("--") || word === "--") throw new UsageError(`unexpected ${JSON.stringify(word)}: options are --<name> <value>, and only \`up\` may follow them`);
    const eq = word.indexOf("=");
    const flag = eq >= 0 ? word.slice(2, eq) : word.slice(2);
    if (!/^[a-z0-9][a-z0-9-]*$/i.test(flag)) throw new UsageError(`invalid option ${JSON.stringify(word)}`);
    let value: string | true;
    if (eq >= 0) value = word.slice(eq + 1);
    else if (booleans.has(flag) || i + 1 >= words.length || words[i + 1]!.startsWith("--")) value = true;
    else value = words[++i]!;
    flags.set(flag, [...(flags.get(flag) ?? []), value]);
  }
  return { flags };
}

/** `--ports F:B[/udp]` (repeatable, or comma-separated), `--random`, `--bind ADDR`. */
export function parseUpArgs(words: readonly string[]): UpArgs {
  const up: UpArgs = { ports: [], random: false };
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const [name, inline] = word.startsWith("--") ? (word.slice(2).split(/=(.*)/s, 2) as [string, string | undefined]) : [undefined, undefined];
    const value = () => {
      const v = inline ?? words[++i];
      if (v === undefined || (inline === undefined && v.startsWith("--"))) throw new UsageError(`up: --${name} needs a value`);
      return v;
    };
    if (name === "ports" || name === "port") {
      for (const spec of value().split(",")) up.ports.push(parsePortSpec(spec));
    } else if (name === "random") {
      up.random = true;
    } else if (name === "bind") {
      up.bind = value();
    } else {
      throw new UsageError(`up: unexpected ${JSON.stringify(word)} (up takes --ports FRONTEND:BACKEND[/udp]…, --random, --bind ADDR)`);
    }
  }
  return up;
}

function parsePortSpec(spec: string): UpArgs["ports"][number] {
  const m = /^(?:(\d{1,5}):)?(\d{1,5})(?:\/(tcp|udp))?$/i.exec(spec.trim());
  const check = (n: number) => n >= 1 && n <= 65535;
  if (!m || !check(Number(m[2])) || (m[1] !== undefined && !check(Number(m[1])))) {
    throw new UsageError(`up: --ports ${JSON.stringify(spec)}: use FRONTEND:BACKEND or BACKEND (1–65535), optionally /udp`);
  }
  const protocol = m[3]?.toLowerCase() === "udp" ? "UDP" : "TCP";
  return { ...(m[1] !== undefined ? { frontend: Number(m[1]) } : {}), backend: Number(m[2]), protocol };
}

/** Something that turns a `tcp://…` / `udp://…` value into a host service (the client's `service(uri)`). */
export type ServiceFromUri = (uri: string) => unknown;

const SERVICE_URI = /^(tcp|udp):\/\//i;

/**
 * The options object for the function. With `fn` (the module's declared options) unknown flags and missing
 * required options are command-line errors; without it every flag passes as a string (or a host service).
 */
export function buildOptions(args: CallArgs, fn: FunctionInfo | undefined, service: ServiceFromUri): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const byFlag = new Map((fn?.options ?? []).map((o) => [o.flag, o]));
  for (const [flag, values] of args.flags) {
    const option = byFlag.get(flag);
    if (fn && !option) {
      const known = fn.options.map((o) => `--${o.flag}`).join(", ");
      throw new UsageError(`${fn.command} has no option --${flag}` + (known ? ` (it takes ${known})` : " (it takes none)"));
    }
    out[option?.name ?? camelCase(flag)] = convert(flag, values, option, service);
  }
  for (const o of fn?.options ?? []) {
    if (!o.optional && !(o.name in out)) throw new UsageError(`${fn!.command} needs --${o.flag} <${o.typeText}>`);
  }
  return out;
}

function convert(flag: string, values: (string | true)[], option: OptionInfo | undefined, service: ServiceFromUri): unknown {
  const kind = option?.kind ?? "other";
  const one = () => {
    if (values.length > 1) throw new UsageError(`--${flag} given ${values.length} times; it takes one value`);
    return values[0]!;
  };
  const text = (v: string | true) => {
    if (v === true) throw new UsageError(`--${flag} needs a value${option ? ` (${option.typeText})` : ""}`);
    return v;
  };
  const number = (v: string | true) => {
    const n = Number(text(v));
    if (text(v).trim() === "" || !Number.isFinite(n)) throw new UsageError(`--${flag} ${JSON.stringify(v)}: not a number`);
    return n;
  };
  switch (kind) {
    case "string":
      return text(one());
    case "number":
      return number(one());
    case "boolean": {
      const v = one();
      if (v === true || v === "true") return true;
      if (v === "false") return false;
      throw new UsageError(`--${flag} ${JSON.stringify(v)}: use --${flag} (true) or --${flag}=false`);
    }
    case "string[]":
      return values.flatMap((v) => text(v).split(","));
    case "number[]":
      return values.flatMap((v) => text(v).split(",")).map(number);
    default: {
      const v = one();
      if (v === true) return true;
      return SERVICE_URI.test(v) ? service(v) : v;
    }
  }
}

/** `keep-storage` → `keepStorage`. */
export function camelCase(flag: string): string {
  return flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
