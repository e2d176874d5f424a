import { status } from "@grpc/grpc-js";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  AlreadyExistsError,
  CancelledError,
  EngineUnavailableError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  SvcdError,
  TimeoutError,
} from "../../../src/common/errors.js";
import { mapGrpcError } from "../../../src/containerd/index.js";

const grpcError = (code: status, details = "something") => Object.assign(new Error(`${code} ${details}`), { code, details });

const cases: [status, new (...args: never[]) => SvcdError, string][] = [
  [status.NOT_FOUND, NotFoundError, "NOT_FOUND"],
  [status.ALREADY_EXISTS, AlreadyExistsError, "ALREADY_EXISTS"],
  [status.INVALID_ARGUMENT, InvalidArgumentError, "INVALID_ARGUMENT"],
  [status.FAILED_PRECONDITION, InvalidArgumentError, "INVALID_ARGUMENT"],
  [status.DEADLINE_EXCEEDED, TimeoutError, "TIMEOUT"],
  [status.CANCELLED, CancelledError, "CANCELLED"],
  [status.UNAVAILABLE, EngineUnavailableError, "UNAVAILABLE"],
  [status.INTERNAL, InternalError, "INTERNAL"],
  [status.UNKNOWN, InternalError, "INTERNAL"],
  [status.PERMISSION_DENIED, InternalError, "INTERNAL"],
];

for (const [code, cls, errorCode] of cases) {
  test(`gRPC ${status[code]} maps to ${cls.name}`, () => {
    const cause = grpcError(code, "containerd says no");
    const err = mapGrpcError(cause, "containerd Content.Info");
    assert.instance(err, cls);
    assert.is(err.code, errorCode);
    assert.is(err.cause, cause);
    assert.match(err.message, "containerd Content.Info");
    assert.match(err.message, "containerd says no");
  });
}

test("UNAVAILABLE names the socket and says how to get containerd", () => {
  const err = mapGrpcError(grpcError(status.UNAVAILABLE, "connect ENOENT"), "containerd Version.Version", { socket: "/run/x.sock" });
  assert.instance(err, EngineUnavailableError);
  assert.match(err.message, "/run/x.sock");
  assert.match(err.message, "apt-get install containerd runc");
});

test("an svcd error passes through unchanged; anything else becomes InternalError", () => {
  const own = new NotFoundError("mine");
  assert.is(mapGrpcError(own, "ctx"), own);
  const plain = new Error("boom");
  const mapped = mapGrpcError(plain, "containerd Tasks.Start");
  assert.instance(mapped, InternalError);
  assert.is(mapped.cause, plain);
  assert.match(mapped.message, /Tasks\.Start: boom/);
  assert.instance(mapGrpcError("a string", "ctx"), InternalError);
});

test.run();
