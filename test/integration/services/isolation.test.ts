// Session isolation through the API: a container of session B probes a running python http service of session A
// (IPv4, IPv6 link-local, ping, ff02::1, a changed MAC, another session's address, gratuitous ARP) and reaches none
// of it, while its own binding answers. IPv6 is off in every container netns; to test the hub's filters rather than
// that hygiene, the test turns it back on from the hub side in A's and B's netns (what privileged containers could
// do themselves). A's addresses and MAC are read from the hub side, never from B.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { connect, type Client, type Container } from "../../../src/index.js";
import { hostHash } from "../../../src/definition/index.js";
import type { ProcessRunner } from "../../../src/common/process-runner.js";
import { enginePaths, engineRunner } from "../../rig/engine.js";
import { REACH_PROBES, runIsolationProbe } from "./isolation-probes.js";

const NAMESPACE = "svcd-test";
const unique = () => `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
const SESSION_A = `iso-a-${unique()}`;
const SESSION_B = `iso-b-${unique()}`;
const paths = enginePaths();
// The netns files are bind mounts in the engine's mount namespace (the user engine's, in the rootless pass): enter
// them through the engine's runner, made once the engine is up.
let runner!: ProcessRunner;
const test = suite<{ a: Client; b: Client }>("isolation");

async function inNs(netns: string, args: string[]): Promise<string> {
  const r = await runner.run("nsenter", [`--net=${netns}`, "--", ...args], { timeoutMs: 20_000 });
  if (r.exitCode !== 0) throw new Error(`${args.join(" ")} in ${netns}: exit ${r.exitCode}: ${r.stderr}`);
  return r.stdout;
}

/** The netns file of a session's container whose id has `kind` (svc, exec), waiting up to `ms` for it to appear. */
async function netnsOf(session: string, kind: string, ms = 60_000): Promise<string> {
  const prefix = `ctr-svcd-${hostHash(session)}-${kind}-`;
  const deadline = Date.now() + ms;
  for (;;) {
    const found = (await readdir(paths.netnsDir).catch(() => [] as string[])).find((f) => f.startsWith(prefix));
    if (found) return join(paths.netnsDir, found);
    if (Date.now() > deadline) throw new Error(`no netns ${prefix}* within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** IPv6 back on in a container netns (once CNI has made its eth0, within 20 s); its link-local address. */
async function ipv6On(netns: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  while ((await runner.run("nsenter", [`--net=${netns}`, "--", "ip", "link", "show", "dev", "eth0"])).exitCode !== 0) {
    if (Date.now() > deadline) throw new Error(`no eth0 in ${netns}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await inNs(netns, ["sysctl", "-q", "-w", "net.ipv6.conf.eth0.accept_dad=0", "net.ipv6.conf.all.disable_ipv6=0", "net.ipv6.conf.eth0.disable_ipv6=0"]);
  return /inet6 (fe80:[0-9a-f:]+)\//.exec(await inNs(netns, ["ip", "-o", "-6", "addr", "show", "dev", "eth0", "scope", "link"]))![1]!;
}

function httpd(c: Client, body: string): Container {
  return c.container().from("busybox").withNewFile("/www/index.html", body).withExposedPort(8080)
    .withEntrypoint(["sh", "-c", "exec httpd -f -p 8080 -h /www"]);
}

test.before(async (ctx) => {
  ctx.a = await connect({ namespace: NAMESPACE, sessionId: SESSION_A, serviceGracePeriodMs: 0 });
  ctx.b = await connect({ namespace: NAMESPACE, sessionId: SESSION_B, serviceGracePeriodMs: 0 });
  runner = engineRunner(paths);
});
test.after(async (ctx) => {
  await Promise.all([ctx.a?.close(), ctx.b?.close()]);
});

test("a session-B container reaches nothing of session A's running service, by any protocol; its own binding works", async ({ a, b }) => {
  const name = `secret${Date.now().toString(36)}`;
  const web = a.container().from("python").withWorkdir("/srv").withNewFile("index.html", "session A secret")
    // Bound to `::` (dual stack), as http.server binds by default where IPv6 is on at its start.
    .withExposedPort(8080).asService({ args: ["python", "-m", "http.server", "8080", "--bind", "::"] }).withHostname(name);
  await web.start();
  try {
    const netnsA = await netnsOf(SESSION_A, "svc");
    const linkLocal = await ipv6On(netnsA);
    const mac = /link\/ether ([0-9a-f:]{17})/.exec(await inNs(netnsA, ["ip", "-o", "link", "show", "dev", "eth0"]))![1]!;
    const ipv4 = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(await inNs(netnsA, ["ip", "-o", "-4", "addr", "show", "dev", "eth0"]))![1]!;
    // Positive controls inside session A: the service answers on both families (from its own netns, and from A).
    assert.is(await inNs(netnsA, ["busybox", "wget", "-qO-", `http://[${linkLocal}%eth0]:8080/`]), "session A secret");
    assert.is(await a.container().from("busybox").withEnvVariable("BUST", unique()).withExec(["wget", "-qO-", `http://${name}:8080/`]).stdout(), "session A secret");
    // Another session-A container's address, to send from (B must not pass for it either).
    const other = await a.container().from("busybox").withEnvVariable("BUST", unique()).withExposedPort(8080)
      .withEntrypoint(["sh", "-c", "mkdir -p /www && exec httpd -f -p 8080 -h /www"]).asService().withHostname(`o${name}`);
    await other.start();
    try {
      const otherIp = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(await inNs(await netnsOf(SESSION_A, `svc-o${name}`), ["ip", "-o", "-4", "addr", "show", "dev", "eth0"]))![1]!;
      const own = httpd(b, "session B's own").asService();
      const prober = b.container().from("busybox").withEnvVariable("BUST", unique()).withServiceBinding("own", own);
      // B's netns appears when its exec starts: turn IPv6 on there too, as a privileged B could.
      const [outcomes] = await Promise.all([
        runIsolationProbe(prober, { ipv4, port: 8080, linkLocal, mac, otherIp, own: { alias: "own", port: 8080 } }),
        netnsOf(SESSION_B, "exec").then(ipv6On),
      ]);
      assert.is(outcomes.own, "reached", JSON.stringify(outcomes));
      assert.is(outcomes["own-after"], "reached", JSON.stringify(outcomes));
      for (const probe of REACH_PROBES) assert.is(outcomes[probe], "blocked", `${probe}: ${JSON.stringify(outcomes)}`);
      // Whatever B tried, A's own session still reaches its service.
      assert.is(await a.container().from("busybox").withEnvVariable("BUST", unique()).withExec(["wget", "-qO-", `http://${name}:8080/`]).stdout(), "session A secret");
    } finally {
      await other.stop();
    }
  } finally {
    await web.stop();
  }
});

test.run();
