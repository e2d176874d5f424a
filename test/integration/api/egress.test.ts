// Egress through the public API: a withExec reaches a server outside the container network, through the outside of
// test/rig/outside.ts (as root a netns of the test's own joined to the host by a veth pair, 10.99.31.1/30 host, .2
// outside), so nothing leaves the machine: exec → hub bridge → masquerade → slirp4netns → host → server. A user to
// whom /dev/net/tun is closed (0600 root here) gets no egress: connect's engine warns SVCD_EGRESS_OFF, naming why
// and the fix, and containers still run, without slirp's DNS.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { type Client } from "../../../src/index.js";
import { connect } from "../../rig/connect.js";
import { tunUnusableReason } from "../../../src/network/index.js";
import { egressPossible } from "../../rig/engine.js";
import { startOutside, type Outside } from "../../rig/outside.js";

const test = suite<{ client: Client; outside?: Outside; warnings: Error[]; onWarning?: (w: Error) => void }>("egress");

test.before(async (ctx) => {
  ctx.warnings = [];
  ctx.onWarning = (w) => ctx.warnings.push(w);
  process.on("warning", ctx.onWarning);
  if (egressPossible()) {
    ctx.outside = await startOutside({
      netns: `svcd-api-egress-${randomBytes(3).toString("hex")}`,
      veth: `svcd-ae${randomBytes(2).toString("hex")}`,
      hostIp: "10.99.31.1",
      outsideIp: "10.99.31.2",
      greeting: "outside says hi",
    });
  }
  ctx.client = await connect({ namespace: "svcd-test" });
});

test.after(async (ctx) => {
  await ctx.client?.close();
  await ctx.outside?.stop();
  if (ctx.onWarning) process.off("warning", ctx.onWarning);
});

const nonce = () => randomBytes(4).toString("hex");
const egressOff = (warnings: Error[]) => warnings.filter((w) => (w as Error & { code?: string }).code === "SVCD_EGRESS_OFF");

if (egressPossible()) {
  test("a withExec reaches a server outside the container network", async ({ client, outside, warnings }) => {
    const out = await client.container().from("busybox").withEnvVariable("NONCE", nonce())
      .withExec(["wget", "-qO-", `http://${outside!.ip}:${outside!.port}/`]).stdout();
    assert.is(out, "outside says hi");
    assert.equal(egressOff(warnings).map((w) => w.message), [], "no SVCD_EGRESS_OFF warning");
  });

  test("containers get slirp4netns's DNS in resolv.conf", async ({ client }) => {
    const out = await client.container().from("busybox").withEnvVariable("NONCE", nonce())
      .withExec(["cat", "/etc/resolv.conf"]).stdout();
    assert.match(out, /^nameserver 10\.0\.2\.3$/m);
  });
} else {
  test("a user refused /dev/net/tun: SVCD_EGRESS_OFF says so and names the fix; containers still run, without slirp's DNS", async ({ client, warnings }) => {
    const out = await client.container().from("busybox").withEnvVariable("NONCE", nonce())
      .withExec(["cat", "/etc/resolv.conf"]).stdout();
    assert.not.match(out, /nameserver 10\.0\.2\.3/);
    const off = egressOff(warnings);
    assert.is(off.length, 1, `one SVCD_EGRESS_OFF warning, got ${off.map((w) => w.message).join(" | ")}`);
    assert.is(off[0]!.message, `egress is off: ${tunUnusableReason("EACCES", process.getuid!())}`);
    assert.match(off[0]!.message, /not accessible to you .*chmod 0666 \/dev\/net\/tun.*or run svcd as root$/);
  });
}

test.run();
