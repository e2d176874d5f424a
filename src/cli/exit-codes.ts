// The one place error codes become exit statuses for the CLI.
import { SvcdError, type ErrorCode } from "../common/errors.js";

const STATUS: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 2,
  NOT_FOUND: 3,
  ALREADY_EXISTS: 4,
  UNAVAILABLE: 69, // EX_UNAVAILABLE
  UNAUTHORIZED: 77, // EX_NOPERM
  DIGEST_MISMATCH: 65, // EX_DATAERR
  EXEC_FAILED: 1,
  SERVICE_FAILED: 1,
  TIMEOUT: 75, // EX_TEMPFAIL
  CANCELLED: 130,
  INTERNAL: 70, // EX_SOFTWARE
};

/** The exit status for an error: its code's, or 70 for anything unexpected. */
export function exitStatus(err: unknown): number {
  return SvcdError.is(err) ? STATUS[err.code] : 70;
}
