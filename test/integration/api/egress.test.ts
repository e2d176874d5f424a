// Egress through the public API: a withExec reaches a server outside the container network. "Outside" is a
// network namespace this test creates and joins to the host by a veth pair (10.99.31.1/30 host, .2 outside), so
// nothing leaves the machine: exec → hub bridge → masquerade → slirp4netns → host → veth → server.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { connect, type Client } from "../../../src/index.js";
import { HostProcessRunner } from "../../../src/common/process-runner.js";

const runner = new HostProcessRunner();
const NETNS = `svcd-api-egress-${randomBytes(3).toString("hex")}`;
const VETH = `svcd-ae${randomBytes(2).toString("hex")}`;
const HOST_IP = "10.99.31.1";
const OUTSIDE_IP = "10.99.31.2";
const test = suite<{ client: Client; server?: ChildProcess }>("egress");

async function ip(...args: string[]): Promise<void> {
  const r = await runner.run("ip", args);
  if (r.exitCode !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
}

test.before(async (ctx) => {
  await ip("netns", "add", NETNS);
  await ip("link", "add", VETH, "type", "veth", "peer", "name", "eth0", "netns", NETNS);
  await ip("addr", "add", `${HOST_IP}/30`, "dev", VETH);
  await ip("link", "set", VETH, "up");
  await ip("-n", NETNS, "addr", "add", `${OUTSIDE_IP}/30`, "dev", "eth0");
  await ip("-n", NETNS, "link", "set", "eth0", "up");
  await ip("-n", NETNS, "link", "set", "lo", "up");
  const server = spawn("ip", ["netns", "exec", NETNS, process.execPath, "-e",
    `require("http").createServer((q, s) => s.end("outside says hi")).listen(8080, ${JSON.stringify(OUTSIDE_IP)}, () => console.log("listening"))`],
    { stdio: ["ignore", "pipe", "inherit"] });
  ctx.server = server;
  await new Promise<void>((resolve, reject) => {
    server.stdout!.once("data", () => resolve());
    server.once("exit", (code) => reject(new Error(`server exited ${code}`)));
  });
  ctx.client = await connect({ namespace: "svcd-test" });
});

test.after(async (ctx) => {
  await ctx.client.close();
  ctx.server?.kill();
  await runner.run("ip", ["link", "del", VETH]);
  await runner.run("ip", ["netns", "del", NETNS]);
});

test("a withExec reaches a server outside the container network", async ({ client }) => {
  const out = await client.container().from("busybox").withEnvVariable("NONCE", randomBytes(4).toString("hex"))
    .withExec(["wget", "-qO-", `http://${OUTSIDE_IP}:8080/`]).stdout();
  assert.is(out, "outside says hi");
});

test("containers get slirp4netns's DNS in resolv.conf", async ({ client }) => {
  const out = await client.container().from("busybox").withEnvVariable("NONCE", randomBytes(4).toString("hex"))
    .withExec(["cat", "/etc/resolv.conf"]).stdout();
  assert.match(out, /^nameserver 10\.0\.2\.3$/m);
});

test.run();
