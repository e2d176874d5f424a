import { test } from "uvu";
import * as assert from "uvu/assert";
import { ExecError, InvalidArgumentError, SvcdError } from "../../../src/common/errors.js";

test("errors carry a stable code and a cross-copy brand", () => {
  const err = new InvalidArgumentError("bad");
  assert.is(err.code, "INVALID_ARGUMENT");
  assert.is(err.name, "InvalidArgumentError");
  assert.ok(SvcdError.is(err));
  assert.not.ok(SvcdError.is(new Error("x")));
});

test("ExecError names the command, exit code and stderr tail", () => {
  const err = new ExecError({ command: ["sh", "-c", "exit 3"], exitCode: 3, stdout: "", stderr: "boom\n" });
  assert.is(err.exitCode, 3);
  assert.match(err.message, /exited with code 3: boom/);
});

test.run();
