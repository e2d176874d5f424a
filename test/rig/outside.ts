// The "outside" egress tests fetch from, without any traffic leaving the machine. As root: a network namespace of the
// test's own joined to the host netns by a veth pair (hostIp on the host side, outsideIp inside) with an HTTP server
// on outsideIp:8080 in it. Rootless (a user may add no link to the host netns): an HTTP server in the test process on
// one of the host's own non-loopback IPv4 addresses, which slirp4netns (in the host netns) reaches like any outside
// address — only 127.0.0.0/8 is refused to containers (--disable-host-loopback) — and the kernel delivers locally.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:http";
import { networkInterfaces } from "node:os";
import { HostProcessRunner } from "../../src/common/process-runner.js";
import { rootless } from "./engine.js";

export interface Outside {
  /** Where the server listens. */
  ip: string;
  port: number;
  /** The peer address the server sees for a container's connection (slirp4netns's host-side socket). */
  seenFrom: string;
  stop(): Promise<void>;
}

export interface OutsideOptions {
  /** Root only: the netns and host-side veth to create (unique per test file). */
  netns: string;
  veth: string;
  hostIp: string;
  outsideIp: string;
  /** The response body; with `peer`, followed by ", seen from <peer address>". */
  greeting: string;
  peer?: boolean;
}

const host = new HostProcessRunner();

async function ip(...args: string[]): Promise<void> {
  const r = await host.run("ip", args, { timeoutMs: 20_000 });
  if (r.exitCode !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
}

/** Starts the outside server; stop() removes everything it made. */
export async function startOutside(opts: OutsideOptions): Promise<Outside> {
  return rootless ? outsideOnHost(opts) : outsideInNetns(opts);
}

async function outsideInNetns(opts: OutsideOptions): Promise<Outside> {
  let server: ChildProcess | undefined;
  const stop = async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = once(server, "exit");
      server.kill("SIGKILL");
      await exited;
    }
    await host.run("ip", ["netns", "del", opts.netns]); // takes the veth pair with it
  };
  try {
    await ip("netns", "add", opts.netns);
    await ip("link", "add", opts.veth, "type", "veth", "peer", "name", "eth0", "netns", opts.netns);
    await ip("addr", "add", `${opts.hostIp}/30`, "dev", opts.veth);
    await ip("link", "set", opts.veth, "up");
    await ip("-n", opts.netns, "addr", "add", `${opts.outsideIp}/30`, "dev", "eth0");
    await ip("-n", opts.netns, "link", "set", "eth0", "up");
    await ip("-n", opts.netns, "link", "set", "lo", "up");
    const body = `${JSON.stringify(opts.greeting)}${opts.peer ? ` + ", seen from " + q.socket.remoteAddress` : ""}`;
    const script = `require("http").createServer((q, s) => s.end(${body})).listen(8080, ${JSON.stringify(opts.outsideIp)}, () => console.log("listening"))`;
    server = spawn("ip", ["netns", "exec", opts.netns, process.execPath, "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    const child = server;
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once("data", () => resolve());
      child.once("exit", (code) => reject(new Error(`outside server exited (${code}) before listening`)));
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { ip: opts.outsideIp, port: 8080, seenFrom: opts.hostIp, stop };
}

async function outsideOnHost(opts: OutsideOptions): Promise<Outside> {
  const address = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === "IPv4" && !a.internal)?.address;
  if (!address) throw new Error("rootless egress test: the host has no non-loopback IPv4 address to serve the outside on");
  const server = createServer((q, s) => s.end(opts.greeting + (opts.peer ? `, seen from ${q.socket.remoteAddress}` : "")));
  server.listen(0, address);
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  return { ip: address, port, seenFrom: address, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}
