// UDP (beyond Dagger's TCP-only tunnels): a UDP service exposed with up(), and a host UDP echo reached from a
// container through a host service.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createSocket, type Socket } from "node:dgram";
import { type Client } from "../../../src/index.js";
import { connect } from "../../rig/connect.js";

const test = suite<{ client: Client }>("udp");
const unique = () => `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

const PY_ECHO = "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(('0.0.0.0', 5353))\nwhile True:\n    d, a = s.recvfrom(4096)\n    s.sendto(b'echo:' + d, a)\n";
const PY_CLIENT = (host: string, port: number) =>
  `import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.settimeout(5)\ns.sendto(b'ping', (${JSON.stringify(host)}, ${port}))\nprint(s.recvfrom(4096)[0].decode())\n`;

/** Sends one datagram to 127.0.0.1:port and waits for the reply (retrying: UDP may drop the first one). */
async function roundTrip(port: number, payload: string): Promise<string> {
  const socket: Socket = createSocket("udp4");
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => socket.send(payload, port, "127.0.0.1"), 200);
      const deadline = setTimeout(() => reject(new Error("no UDP reply")), 5000);
      socket.once("message", (msg) => {
        clearInterval(timer);
        clearTimeout(deadline);
        resolve(msg.toString());
      });
      socket.send(payload, port, "127.0.0.1");
    });
  } finally {
    socket.close();
  }
}

test.before(async (ctx) => {
  ctx.client = await connect({ namespace: "svcd-test", serviceGracePeriodMs: 200 });
});
test.after(async (ctx) => {
  await ctx.client.close();
});

test("a UDP echo service is reached through up()", async ({ client }) => {
  const svc = client.container().from("python").withNewFile("/echo.py", PY_ECHO)
    .withExposedPort(5353, { protocol: "UDP" }).asService({ args: ["python", "/echo.py"] });
  const up = await svc.up({ random: true });
  try {
    assert.is(up.ports.length, 1);
    assert.is(up.ports[0]!.protocol, "UDP");
    assert.is(await roundTrip(up.ports[0]!.frontend, "hello"), "echo:hello");
  } finally {
    await up.close();
  }
});

test("a host UDP echo is reached from a container through a host service", async ({ client }) => {
  const echo = createSocket("udp4");
  echo.on("message", (msg, peer) => echo.send(Buffer.concat([Buffer.from("host:"), msg]), peer.port, peer.address));
  const port = await new Promise<number>((r) => echo.bind(0, "127.0.0.1", () => r(echo.address().port)));
  try {
    const dns = client.host().service([{ backend: port, protocol: "UDP" }], { host: "127.0.0.1" });
    const out = await client.container().from("python").withEnvVariable("N", unique()).withNewFile("/client.py", PY_CLIENT("dns", port))
      .withServiceBinding("dns", dns).withExec(["python", "/client.py"]).stdout();
    assert.is(out, "host:ping\n");
  } finally {
    echo.close();
  }
});

test.run();
