// The one place failures become exit statuses for `svc` (DESIGN.md §7): 0 ok; 2 for command-line errors only; a
// failed exec passes the container's exit code through; every other failure 1. `-j` output names the error's code.
import { InvalidArgumentError, SvcdError } from "../common/errors.js";

/** A mistake on the command line itself (unknown command or option, missing value, ambiguous name): exit 2. */
export class UsageError extends InvalidArgumentError {}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** The exit status for an error. */
export function exitStatus(err: unknown): number {
  if (err instanceof UsageError) return EXIT_USAGE;
  if (SvcdError.is(err) && err.code === "EXEC_FAILED") {
    const code = (err as { exitCode?: unknown }).exitCode;
    // A container's own status, 1–255; a signal death reported as 128+n is passed on as it is.
    if (typeof code === "number" && Number.isInteger(code) && code > 0 && code <= 255) return code;
  }
  return EXIT_FAILURE;
}

/** What `-j` prints for a failure: the stable code and the message. */
export function errorJson(err: unknown): { error: { code: string; message: string; exitCode?: number } } {
  const message = err instanceof Error ? err.message : String(err);
  const code = err instanceof UsageError ? "USAGE" : SvcdError.is(err) ? err.code : "INTERNAL";
  const exitCode = SvcdError.is(err) && err.code === "EXEC_FAILED" ? (err as { exitCode?: number }).exitCode : undefined;
  return { error: { code, message, ...(exitCode !== undefined ? { exitCode } : {}) } };
}
