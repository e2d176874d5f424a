// Loads a user's svc module (`svc call -m <file>`): TypeScript without a build step (tsx, a runtime dependency),
// and `import "svcd"` resolving to this svc's own package wherever the module lives — a module in /tmp with no
// node_modules works, and its `dag` is the very instance svc configures (same module URL, so the same module).
import { existsSync, statSync } from "node:fs";
import { register } from "node:module";
import { extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { register as registerTsx } from "tsx/esm/api";
import { UsageError } from "../exit-codes.js";

const MODULE_EXTENSIONS = new Set([".ts", ".mts", ".cts", ".js", ".mjs", ".cjs", ".tsx", ".jsx"]);

// The resolve hook, registered once from source (a data: URL: nothing to ship or find on disk). `svcd` and
// `svcd/package.json` go to svc's own package; every other specifier resolves as it always does.
const HOOK = `
let target, packageJson;
export function initialize(data) { target = data.target; packageJson = data.packageJson; }
export async function resolve(specifier, context, next) {
  if (specifier === "svcd") return { url: target, shortCircuit: true, format: "module" };
  if (specifier === "svcd/package.json") return { url: packageJson, shortCircuit: true, format: "json" };
  const resolved = await next(specifier, context);
  // A TypeScript file outside any package that says "type": "module" (a module in /tmp) would be compiled to
  // CommonJS, where \`import "svcd"\` becomes a require() no resolve hook sees: svc modules are ES modules.
  if (/\.(ts|tsx)$/.test(new URL(resolved.url).pathname) && resolved.format !== "module" && !resolved.url.includes("/node_modules/")) {
    return { ...resolved, format: "module" };
  }
  return resolved;
}`;

let hooked = false;

/**
 * Registers, once, tsx's loader (unless svc itself already runs from TypeScript sources under it) and then the
 * `svcd` resolve hook — after tsx, so it runs first and `svcd` is never rewritten into a second copy.
 */
function installHooks(): void {
  if (hooked) return;
  hooked = true;
  if (!import.meta.url.endsWith(".ts")) registerTsx();
  const target = import.meta.resolve("../../index.js");
  const packageJson = new URL("../../../package.json", import.meta.url).href;
  register(`data:text/javascript,${encodeURIComponent(HOOK)}`, { data: { target, packageJson } });
}

/** An absolute path for `-m`, checked: exists, is a file, has a module's extension. */
export function modulePath(given: string, cwd = process.cwd()): string {
  const path = resolve(cwd, given);
  if (!existsSync(path)) throw new UsageError(`-m ${given}: no such file (looked for ${path})`);
  if (!statSync(path).isFile()) throw new UsageError(`-m ${given}: not a file`);
  if (!MODULE_EXTENSIONS.has(extname(path))) {
    throw new UsageError(`-m ${given}: not a module (expected one of ${[...MODULE_EXTENSIONS].join(", ")})`);
  }
  return path;
}

/** Imports the module at `path` (TypeScript or JavaScript) and returns its exports. */
export async function loadModule(path: string): Promise<Record<string, unknown>> {
  installHooks();
  return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
}
