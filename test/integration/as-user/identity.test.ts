// Run only by the rootless pass (an unprivileged user, test/integration/as-user): whose privileges a user's engine
// runs with. While a service runs, bound to a client and exposed with `up`: rootlesskit, the supervisor, containerd,
// every shim and the forward agent run under the user's uid, and no root process has anything to do with the
// user's engine (its socket, state or runtime dirs on the command line); a container's uid 0 is the user's uid
// (/proc/self/uid_map); `up` on a port below ip_unprivileged_port_start is a typed error naming the sysctl.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync } from "node:fs";
import { get } from "node:http";
import { connect, type Client, type Service } from "../../../src/index.js";
import { managedPids } from "../../../src/rootless/index.js";
import { enginePaths } from "../../rig/engine.js";

const uid = process.getuid!();
const paths = enginePaths();
const test = suite<{ c: Client; web: Service }>("rootless identity");

interface Proc {
  pid: number;
  ppid: number;
  uid: number;
  cmdline: string;
}

function processes(): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, "utf8");
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").join(" ").trim();
      out.push({ pid: Number(name), ppid: Number(/^PPid:\s+(\d+)/m.exec(status)![1]), uid: Number(/^Uid:\s+(\d+)/m.exec(status)![1]), cmdline });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d) => (body += d)).on("end", () => resolve(body));
    }).on("error", reject);
  });
}

test.before(async (ctx) => {
  assert.ok(uid !== 0, "this file is for the rootless pass: run it as an unprivileged user");
  ctx.c = await connect({ namespace: "svcd-test", serviceGracePeriodMs: 0 });
  ctx.web = ctx.c.container().from("busybox").withNewFile("/www/index.html", "as a user").withExposedPort(8080)
    .withEntrypoint(["sh", "-c", "exec httpd -f -p 8080 -h /www"]).asService();
});
test.after(async (ctx) => {
  await ctx.c?.close();
});

test("the engine's processes are the user's, no root process serves it, and a container's root is the user", async ({ c, web }) => {
  const up = await web.up({ random: true });
  try {
    assert.is(await httpGet(`http://127.0.0.1:${up.ports[0]!.frontend}/`), "as a user");
    const uidMap = await c.container().from("busybox").withServiceBinding("www", web)
      .withExec(["sh", "-c", "wget -qO- http://www:8080/ >/dev/null && id -u && cat /proc/self/uid_map"]).stdout();
    const [idInside, firstMap] = uidMap.trim().split("\n").map((l) => l.trim().split(/\s+/).join(" "));
    assert.is(idInside, "0");
    assert.is(firstMap, `0 ${uid} 1`, uidMap);

    const { supervisor, containerd } = managedPids(paths);
    assert.ok(supervisor && containerd, `supervisor ${supervisor}, containerd ${containerd}`);
    const all = processes();
    const byPid = new Map(all.map((p) => [p.pid, p]));
    assert.is(byPid.get(supervisor!)!.uid, uid, "supervisor");
    assert.is(byPid.get(containerd!)!.uid, uid, "containerd");
    const mine = (p: Proc) => [paths.containerdSocket, paths.runtime, paths.state].some((s) => p.cmdline.includes(s));
    const shims = all.filter((p) => p.cmdline.includes("containerd-shim-runc-v2") && p.cmdline.includes(paths.containerdSocket));
    assert.ok(shims.length >= 1, "a shim serves the running service");
    for (const p of shims) assert.is(p.uid, uid, `shim ${p.pid}`);
    // The agent is this engine's child (nsenter execs into it): its command line names no engine path.
    const agents = all.filter((p) => p.cmdline.includes("agent-main") && p.ppid === process.pid);
    assert.ok(agents.length >= 1, "the forward agent runs (up is active)");
    for (const p of agents) assert.is(p.uid, uid, `agent ${p.pid}: ${p.cmdline}`);
    const kit = all.filter((p) => p.cmdline.startsWith("rootlesskit") && mine(p));
    assert.ok(kit.length >= 1, "rootlesskit holds the namespaces");
    for (const p of kit) assert.is(p.uid, uid, "rootlesskit");
    const rootServing = all.filter((p) => p.uid === 0 && mine(p));
    assert.equal(rootServing.map((p) => `${p.pid} ${p.cmdline}`), [], "no root process serves the user's engine");
  } finally {
    await up.close();
  }
});

test("up on a port below net.ipv4.ip_unprivileged_port_start is a typed error naming the sysctl; nothing is left", async ({ web }) => {
  const start = Number(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8"));
  assert.ok(start > 80, `ip_unprivileged_port_start is ${start}: port 80 would be allowed`);
  const err = await web.up({ ports: [{ frontend: 80, backend: 8080 }] }).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof Error, "up on port 80 must fail");
  assert.is((err as { code?: string }).code, "INVALID_ARGUMENT");
  assert.match((err as Error).message, /net\.ipv4\.ip_unprivileged_port_start/);
  assert.match((err as Error).message, /random: true|at least/);
  // The service it started for the attempt is stopped again: a fresh up on a free port still works.
  const up = await web.up({ random: true });
  await up.close();
});

test.run();
