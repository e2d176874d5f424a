import { test } from "uvu";
import * as assert from "uvu/assert";
import { Client } from "../../../src/api/client.js";
import { isCode } from "../../helpers/errors.js";
import type { Engine } from "../../../src/definition/index.js";

// Builders never reach the engine: a client whose engine never resolves proves it.
const client = new Client(new Promise<Engine>(() => {}));

test("builders are immutable: each with* returns a new container", () => {
  const base = client.container().from("busybox");
  const a = base.withEnvVariable("A", "1");
  const b = base.withEnvVariable("A", "2");
  assert.is(base.definition().ops.length, 1);
  assert.equal(a.definition().ops[1], { op: "env", name: "A", value: "1" });
  assert.equal(b.definition().ops[1], { op: "env", name: "A", value: "2" });
});

test("definitions are plain JSON", () => {
  const def = client.container().from("python").withWorkdir("/srv").withNewFile("index.html", "Hello", { permissions: 0o600 })
    .withExposedPort(8080).withExec(["ls"], { expect: "ANY", stdin: "x" }).definition();
  assert.equal(JSON.parse(JSON.stringify(def)), def);
});

test("invalid input fails at the builder call", () => {
  const c = client.container().from("busybox");
  assert.throws(() => c.withEnvVariable("A=B", "1"), isCode("INVALID_ARGUMENT"));
  assert.throws(() => c.withExposedPort(70000), isCode("INVALID_ARGUMENT"));
  assert.throws(() => c.withExec("ls" as unknown as string[]), isCode("INVALID_ARGUMENT"));
  assert.throws(() => c.withNewFile("f", "x", { permissions: 0o10000 }), isCode("INVALID_ARGUMENT"));
  assert.throws(() => client.cacheVolume("../etc"), isCode("INVALID_ARGUMENT"));
  assert.throws(() => c.withExec(["ls"], { expect: "MAYBE" as "ANY" }), isCode("INVALID_ARGUMENT"));
});

test.run();
