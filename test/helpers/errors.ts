// Assertions on typed errors: uvu's assert.throws takes a predicate, not a class.
import * as assert from "uvu/assert";
import { SvcdError, type ErrorCode } from "../../src/common/errors.js";

/** A predicate for assert.throws: the error is a svcd error with this code (and optionally a message match). */
export function isCode(code: ErrorCode, message?: RegExp): (err: unknown) => boolean {
  return (err: unknown) => SvcdError.is(err) && err.code === code && (!message || message.test(err.message));
}

/** Awaits a promise that must reject with a svcd error of this code; returns the error. */
export async function rejectsWith<T extends SvcdError = SvcdError>(promise: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<T> {
  try {
    await promise;
  } catch (err) {
    if (!SvcdError.is(err)) throw new assert.Assertion({ message: `expected a svcd error ${code}, got ${String(err)}`, expects: code, actual: err, operator: "rejectsWith" });
    assert.is(err.code, code, `expected code ${code}, got ${err.code}: ${err.message}`);
    if (message) assert.match(err.message, message);
    return err as T;
  }
  throw new assert.Assertion({ message: `expected a rejection with ${code}`, expects: code, actual: "resolved", operator: "rejectsWith" });
}
