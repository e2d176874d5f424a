// Readiness beyond TCP ports (issue 11), end to end: `asService({ waitForLog })`, `withHealthcheck` (exec'd into the
// running service), an image's own HEALTHCHECK and `withoutHealthcheck()`. Each service here opens its port at once
// and becomes ready later, writing its state into a file it serves, so a client let in before readiness would read
// "starting": the port check alone would pass too early, and every test fails without its feature.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { ServiceError, type Client, type Container, type Service } from "../../../src/index.js";
import { ContainerdClient } from "../../../src/containerd/index.js";
import { OWNER } from "../../../src/common/labels.js";
import { hostHash, type ContainerServiceDef } from "../../../src/definition/index.js";
import { engineClient } from "../../rig/engine.js";
import { connect } from "../../rig/connect.js";
import { pushDerivedImage } from "../../rig/derived-image.js";
import { rejectsWith } from "../../helpers/errors.js";

const NAMESPACE = "svcd-test";
const SESSION = `readiness-${process.pid}`;
const test = suite<{ client: Client; containerd: ContainerdClient; imageRef: string }>("readiness");
const unique = () => `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

/**
 * busybox serving /tmp/www on 8080 at once (httpd in the background), with /tmp/www/state "starting"; `then` runs next
 * (in the service's shell), and the process stays up afterwards.
 */
function lateService(c: Client | { container(): Container }, then: string, opts: { from?: string } = {}): Container {
  return c.container().from(opts.from ?? "busybox").withEnvVariable("BUST", unique()).withExposedPort(8080)
    .withEntrypoint(["sh", "-c", `mkdir -p /tmp/www; echo starting > /tmp/www/state; httpd -p 8080 -h /tmp/www; ${then}; exec sleep 3600`]);
}

/** What a client bound to `svc` as `svc` reads from its /state: one wget, no retry. */
function clientRead(c: Client, svc: Service): Promise<string> {
  return c.container().from("busybox").withEnvVariable("BUST", unique()).withServiceBinding("svc", svc)
    .withExec(["wget", "-qO-", "http://svc:8080/state"]).stdout();
}

/** The session's service containers still in containerd (a failed start must leave none). */
async function serviceContainers(containerd: ContainerdClient): Promise<string[]> {
  const { containers } = await containerd.containers.list({});
  // Service container ids start with the session's hash (container-service-start.ts), embedded or in the daemon.
  const prefix = `svcd-${hostHash(SESSION)}-svc-`;
  return containers.filter((c) => c.labels[OWNER.kind] === "service" && c.id.startsWith(prefix)).map((c) => c.id);
}

test.before(async (ctx) => {
  ctx.client = await connect({ namespace: NAMESPACE, sessionId: SESSION, serviceGracePeriodMs: 200 });
  ctx.containerd = engineClient(NAMESPACE);
  // busybox with a HEALTHCHECK, as `docker build` writes one: passes once /tmp/healthy exists, says why otherwise.
  // (Its retries after the start period are the runner's unit tests' business; here a timeout ends the wait.)
  ctx.imageRef = await pushDerivedImage({
    from: "busybox",
    name: "busybox-healthcheck",
    tag: `t${process.pid}`,
    edit: (blob) => {
      blob.config.Healthcheck = {
        Test: ["CMD-SHELL", "test -f /tmp/healthy || { echo image-check-failed; exit 1; }"],
        Interval: 100_000_000, // 100 ms, in nanoseconds
        Timeout: 5_000_000_000,
        StartPeriod: 60_000_000_000, // failures in the first minute do not count; tries every 100 ms meanwhile
        StartInterval: 100_000_000,
        Retries: 3,
      };
    },
  });
});
test.after(async (ctx) => {
  await ctx.client.close();
  ctx.containerd.close();
});

test("waitForLog: clients run only after the service logged the line", async ({ client }) => {
  const svc = lateService(client, "sleep 2; echo ready > /tmp/www/state; echo ready").asService({ waitForLog: "^ready$" });
  assert.is(await clientRead(client, svc), "ready\n");
});

test("waitForLog counts `times` matching lines, on stdout and stderr alike", async ({ client }) => {
  const svc = lateService(client, "echo tick; sleep 1; echo tick >&2; echo once > /tmp/www/state; sleep 1; echo twice > /tmp/www/state; echo tick")
    .asService({ waitForLog: { pattern: "^tick$", times: 3 } });
  assert.is(await clientRead(client, svc), "twice\n");
});

test("waitForLog that never matches fails after healthcheckTimeoutMs, saying what was missing", async ({ client, containerd }) => {
  const svc = lateService(client, "echo something else").asService({ waitForLog: "^ready$", healthcheckTimeoutMs: 1500 });
  const err = await rejectsWith<ServiceError>(svc.start(), "SERVICE_FAILED", /timed out after 1500 ms: waitForLog \/\^ready\$\/ matched 0 of 1 line/);
  assert.match(err.logs, /something else/);
  assert.equal(await serviceContainers(containerd), []);
});

test("a failing healthcheck rejects the start with its output and the service's logs; nothing is left", async ({ client, containerd }) => {
  const svc = lateService(client, "echo service-says-hi")
    .withHealthcheck(["sh", "-c", "echo not-yet >&2; exit 1"], { intervalMs: 100, retries: 2 }).asService();
  const err = await rejectsWith<ServiceError>(svc.start(), "SERVICE_FAILED", /not-yet/);
  assert.ok(err instanceof ServiceError);
  assert.match(err.message, /healthcheck \["sh","-c","echo not-yet >&2; exit 1"\] failed 2 times in a row: exit code 1/);
  assert.match(err.logs, /service-says-hi/);
  assert.is(err.exitCode, undefined);
  assert.equal(await serviceContainers(containerd), []);
  // A client bound to it fails the same way, and runs nothing.
  await rejectsWith(clientRead(client, svc), "SERVICE_FAILED", /not-yet/);
});

test("a healthcheck that passes after a while gates clients; it runs as the service's user, in its filesystem", async ({ client }) => {
  const svc = lateService(client, "sleep 2; echo healthy > /tmp/www/state; touch /tmp/healthy")
    .withUser("nobody").withHealthcheck(["sh", "-c", 'test "$(id -u)" = 65534 && test -f /tmp/healthy'], { intervalMs: 200, retries: 100 })
    .asService();
  assert.is(await clientRead(client, svc), "healthy\n");
});

test("a healthcheck still failing at healthcheckTimeoutMs times out with its last try", async ({ client }) => {
  const svc = lateService(client, "true").withHealthcheck(["sh", "-c", "echo still-warming; exit 3"], { intervalMs: 100, startPeriodMs: 60_000 })
    .asService({ healthcheckTimeoutMs: 1500 });
  await rejectsWith(svc.start(), "SERVICE_FAILED", /timed out after 1500 ms: healthcheck .* had not succeeded \(\d+ tries; last try: exit code 3, output "still-warming"\)/);
});

test("a service that exits while its healthcheck runs fails with its exit status", async ({ client }) => {
  const svc = client.container().from("busybox").withEnvVariable("BUST", unique())
    .withEntrypoint(["sh", "-c", "echo bye; sleep 1; exit 4"]).withHealthcheck(["false"], { intervalMs: 100, retries: 1000 }).asService();
  const err = await rejectsWith<ServiceError>(svc.start(), "SERVICE_FAILED", /exited with code 4/);
  assert.is(err.exitCode, 4);
  assert.match(err.logs, /bye/);
});

test("an image's HEALTHCHECK is honoured: it gates clients, and fails a service it never passes", async ({ client, imageRef }) => {
  const gated = lateService(client, "sleep 2; echo healthy > /tmp/www/state; touch /tmp/healthy", { from: imageRef }).asService();
  assert.is(await clientRead(client, gated), "healthy\n");
  const never = lateService(client, "true", { from: imageRef }).asService({ healthcheckTimeoutMs: 1500 });
  await rejectsWith(never.start(), "SERVICE_FAILED", /timed out after 1500 ms: healthcheck \["\/bin\/sh","-c","test -f \/tmp\/healthy .*had not succeeded .*last try: exit code 1, output "image-check-failed"/);
});

test("withoutHealthcheck disables the image's HEALTHCHECK; withHealthcheck replaces it", async ({ client, imageRef }) => {
  const without = lateService(client, "true", { from: imageRef }).withoutHealthcheck().asService();
  assert.is(await clientRead(client, without), "starting\n");
  const replaced = lateService(client, "sleep 1; echo mine > /tmp/www/state; touch /tmp/mine", { from: imageRef })
    .withHealthcheck(["test", "-f", "/tmp/mine"], { intervalMs: 100, retries: 100 }).asService();
  assert.is(await clientRead(client, replaced), "mine\n");
  // Different readiness, different service: the definitions' digests (and hostnames) differ.
  const plain = lateService(client, "true", { from: imageRef });
  assert.is.not(await plain.withoutHealthcheck().asService().hostname(), await plain.asService().hostname());
});

test("all checks together: ports, healthcheck and log line must all pass", async ({ client }) => {
  const svc = lateService(client, "touch /tmp/healthy; sleep 1; echo both > /tmp/www/state; echo ready")
    .withHealthcheck(["test", "-f", "/tmp/healthy"], { intervalMs: 100 }).asService({ waitForLog: "^ready$" });
  assert.is(await clientRead(client, svc), "both\n");
});

test("hand-made readiness fields are refused at the engine's door (in the daemon pass: the daemon's)", async ({ client }) => {
  const engine = await client.engine();
  const def = lateService(client, "true").withHealthcheck(["true"]).asService({ waitForLog: "x" }).definition() as ContainerServiceDef;
  await rejectsWith(engine.startService({ ...def, waitForLog: { pattern: "(", times: 1 } }), "INVALID_ARGUMENT", /waitForLog\.pattern "\(" is not a valid regular expression/);
  await rejectsWith(engine.startService({ ...def, waitForLog: { pattern: "x", times: 0 } }), "INVALID_ARGUMENT", /waitForLog\.times 0/);
  const ops = def.container.ops.map((op) => (op.op === "healthcheck" ? { ...op, args: [] } : op));
  await rejectsWith(engine.startService({ ...def, container: { ops } }), "INVALID_ARGUMENT", /ops\[\d+\]\.args must not be empty/);
  const slow = def.container.ops.map((op) => (op.op === "healthcheck" ? { ...op, intervalMs: -1 } : op));
  await rejectsWith(engine.digest({ ops: slow }), "INVALID_ARGUMENT", /intervalMs -1/);
});

test.run();
