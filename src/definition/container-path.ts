// Container paths: resolved against the working directory, never above `/`. The builders resolve against the
// workdir their own `withWorkdir` calls set (starting from `/`), the engine against the image's too; the first is
// stricter, so a path the builder took never fails later.
import { posix } from "node:path";
import { InvalidArgumentError } from "../common/errors.js";
import type { ContainerOp } from "./container-def.js";
import { assertString, quote } from "./validate.js";

/**
 * Resolves a container path against a working directory. Rejects paths that climb above `/` (`../../etc/shadow`
 * from `/srv`), so no step can name a file outside the container's root.
 */
export function resolveContainerPath(path: unknown, workdir: string, what: string): string {
  assertString(path, what);
  if (path === "") throw new InvalidArgumentError(`${what} must not be empty`);
  const base = path.startsWith("/") ? [] : workdir.split("/").filter(Boolean);
  const parts = [...base];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (parts.length === 0) {
        throw new InvalidArgumentError(`${what} ${quote(path)} escapes the container's root filesystem (resolved against ${quote(workdir)})`);
      }
      parts.pop();
      continue;
    }
    parts.push(segment);
  }
  return posix.join("/", ...parts);
}

/** The workdir the ops since the last `from` set, taking the image's as `/` (what a builder can know). */
export function builderWorkdir(ops: readonly ContainerOp[]): string {
  let workdir = "/";
  for (const op of ops) {
    if (op.op === "from") workdir = "/";
    else if (op.op === "workdir") workdir = resolveContainerPath(op.path, workdir, "workdir");
  }
  return workdir;
}
