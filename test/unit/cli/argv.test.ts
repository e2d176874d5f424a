import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseArgs } from "../../../src/cli/argv.js";
import { exitStatus } from "../../../src/cli/exit-codes.js";
import { ExecError, InvalidArgumentError } from "../../../src/common/errors.js";
import { isCode } from "../../helpers/errors.js";

const known = { values: ["env", "port"], booleans: ["random"] };

test("flags, repeated values, booleans and everything after --", () => {
  const p = parseArgs(["busybox", "--env", "A=1", "--env=B=2", "--random", "--", "sh", "--env", "x"], known);
  assert.equal(p.positional, ["busybox"]);
  assert.equal(p.flags.get("env"), ["A=1", "B=2"]);
  assert.equal(p.flags.get("random"), ["true"]);
  assert.equal(p.rest, ["sh", "--env", "x"]);
});

test("unknown options and missing values are usage errors", () => {
  assert.throws(() => parseArgs(["--nope"], known), isCode("INVALID_ARGUMENT"));
  assert.throws(() => parseArgs(["--env"], known), isCode("INVALID_ARGUMENT"));
});

test("error codes map to exit statuses in one place", () => {
  assert.is(exitStatus(new InvalidArgumentError("x")), 2);
  assert.is(exitStatus(new ExecError({ command: ["x"], exitCode: 3, stdout: "", stderr: "" })), 1);
  assert.is(exitStatus(new Error("boom")), 70);
});

test.run();
