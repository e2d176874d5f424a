// svcd's native helpers (src/*/native/*.c), which scripts/setup.sh builds into build/ at the package root (two levels
// above src/common or dist/common). Each has an environment variable that names another build (an absolute path) or
// turns it off ("off"); the caller then does the helper's work another way.
import { accessSync, constants } from "node:fs";
import { isAbsolute } from "node:path";
import { fileURLToPath } from "node:url";
import { InvalidArgumentError } from "./errors.js";

/** The helper `name` to run: $`variable`'s choice, else build/`name` if it is there and executable; else undefined. */
export function nativeHelper(name: string, variable: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const chosen = env[variable];
  if (chosen === "off") return undefined;
  if (chosen !== undefined && chosen !== "" && !isAbsolute(chosen)) throw new InvalidArgumentError(`${variable} must be an absolute path or "off": ${JSON.stringify(chosen)}`);
  const path = chosen || fileURLToPath(new URL(`../../build/${name}`, import.meta.url));
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    return undefined;
  }
}
