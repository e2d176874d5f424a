// `insecureRootCapabilities` in the definition: recorded only when true (older definitions and digests unchanged),
// validated at the builder call, carried by the plan to its exec step.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Client } from "../../../src/api/client.js";
import { digestOf, type ContainerServiceDef, type Engine } from "../../../src/definition/index.js";
import { makePlan } from "../../../src/engine/plan.js";
import { isCode } from "../../helpers/errors.js";

// Builders never reach the engine: a client whose engine never resolves proves it.
const client = new Client(new Promise<Engine>(() => {}));
const base = () => client.container().from("busybox");

test("withExec records the flag only when true", () => {
  assert.equal(base().withExec(["id"]).definition().ops[1], { op: "exec", args: ["id"], useEntrypoint: false, expect: "SUCCESS" });
  assert.equal(base().withExec(["id"], { insecureRootCapabilities: false }).definition(), base().withExec(["id"]).definition());
  assert.equal(base().withExec(["id"], { insecureRootCapabilities: true }).definition().ops[1], {
    op: "exec",
    args: ["id"],
    useEntrypoint: false,
    expect: "SUCCESS",
    insecureRootCapabilities: true,
  });
  const plain = digestOf(base().withExec(["id"]).definition());
  assert.is.not(digestOf(base().withExec(["id"], { insecureRootCapabilities: true }).definition()), plain);
});

test("asService records the flag only when true", () => {
  const svc = (insecure?: boolean) => base().asService(insecure === undefined ? {} : { insecureRootCapabilities: insecure }).definition() as ContainerServiceDef;
  assert.is("insecureRootCapabilities" in svc(), false);
  assert.equal(svc(false), svc());
  assert.is(svc(true).insecureRootCapabilities, true);
});

test("a non-boolean flag is an InvalidArgumentError naming it", () => {
  const named = isCode("INVALID_ARGUMENT", /insecureRootCapabilities/);
  assert.throws(() => base().withExec(["id"], { insecureRootCapabilities: "yes" as unknown as boolean }), named);
  assert.throws(() => base().withExec(["id"], { insecureRootCapabilities: 1 as unknown as boolean }), named);
  assert.throws(() => base().asService({ insecureRootCapabilities: null as unknown as boolean }), named);
});

test("the plan carries the flag to its exec step, and only there", () => {
  const def = base().withExec(["a"], { insecureRootCapabilities: true }).withExec(["b"]).definition();
  const plan = makePlan(def, { Cmd: ["sh"] });
  const [a, b] = plan.steps;
  assert.ok(a?.kind === "exec" && a.insecureRootCapabilities === true);
  assert.ok(b?.kind === "exec" && !("insecureRootCapabilities" in b));
});

test.run();
