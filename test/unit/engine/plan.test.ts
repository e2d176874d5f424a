import { test } from "uvu";
import * as assert from "uvu/assert";
import { isCode } from "../../helpers/errors.js";
import type { ContainerDef } from "../../../src/definition/index.js";
import { makePlan } from "../../../src/engine/plan.js";

const image = { Env: ["PATH=/bin", "A=0"], Cmd: ["sh"], WorkingDir: "" };

test("steps carry the config in force when they run", () => {
  const def: ContainerDef = {
    ops: [
      { op: "from", ref: "busybox" },
      { op: "workdir", path: "/srv" },
      { op: "newFile", path: "index.html", contents: "hi", permissions: 0o644 },
      { op: "env", name: "A", value: "1" },
      { op: "exec", args: ["sh", "-c", "echo $A"], useEntrypoint: false, expect: "SUCCESS" },
      { op: "env", name: "B", value: "2" },
    ],
  };
  const plan = makePlan(def, image);
  assert.is(plan.ref, "busybox");
  assert.equal(plan.steps[0], { kind: "newFile", path: "/srv/index.html", contents: "hi", permissions: 0o644 });
  const exec = plan.steps[1];
  assert.ok(exec && exec.kind === "exec");
  assert.equal(exec.config.env, ["PATH=/bin", "A=1"]);
  assert.is(exec.config.workdir, "/srv");
  assert.equal(plan.config.env, ["PATH=/bin", "A=1", "B=2"]);
  assert.is(plan.lastExec, 1);
});

test("useEntrypoint prepends the entrypoint; exposed ports replace and remove", () => {
  const def: ContainerDef = {
    ops: [
      { op: "from", ref: "x" },
      { op: "entrypoint", args: ["python"] },
      { op: "exec", args: ["-c", "1"], useEntrypoint: true, expect: "ANY" },
      { op: "exposePort", port: 80, protocol: "TCP", skipHealthcheck: false },
      { op: "exposePort", port: 53, protocol: "UDP", skipHealthcheck: false },
      { op: "unexposePort", port: 80, protocol: "TCP" },
    ],
  };
  const plan = makePlan(def, image);
  const exec = plan.steps[0];
  assert.ok(exec?.kind === "exec");
  assert.equal(exec.args, ["python", "-c", "1"]);
  assert.equal(plan.exposedPorts.map((p) => `${p.port}/${p.protocol}`), ["53/UDP"]);
});

test("a definition without from() and traversal in a file path are rejected", () => {
  assert.throws(() => makePlan({ ops: [] }, image), isCode("INVALID_ARGUMENT"));
  const def: ContainerDef = {
    ops: [
      { op: "from", ref: "x" },
      { op: "workdir", path: "/srv" },
      { op: "newFile", path: "../../etc/shadow", contents: "", permissions: 0o600 },
    ],
  };
  assert.throws(() => makePlan(def, image), isCode("INVALID_ARGUMENT"));
});

test("a new entrypoint drops the default args unless kept", () => {
  const base = { Cmd: ["sh"], Entrypoint: ["/init"] };
  const drop = makePlan({ ops: [{ op: "from", ref: "x" }, { op: "entrypoint", args: ["sleep", "1"] }] }, base);
  assert.equal(drop.config.defaultArgs, []);
  const keep = makePlan({ ops: [{ op: "from", ref: "x" }, { op: "entrypoint", args: ["tini"], keepDefaultArgs: true }] }, base);
  assert.equal(keep.config.defaultArgs, ["sh"]);
});

test.run();
