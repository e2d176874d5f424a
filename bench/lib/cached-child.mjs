// One fresh process's cached build step (bench/build.mjs, "cached, new process"): loads svcd (not timed: node's and
// tsx's start-up and the module graph), then times connect() → the cached chain's stdout() inside this process, and
// prints one JSON line { ms, connectMs } on stdout; close() comes after and is not timed. argv: containerd socket,
// namespace, registry URL, the cached value, and a daemon's socket to go through it (engine "daemon") instead of an
// embedded engine.
import { load } from "./svcd.mjs";

const [address, namespace, registryUrl, value, socket] = process.argv.slice(2);
const { connect } = await load("index.js");
const started = performance.now();
// With DEBUG set, the window's ends go to stderr too, to line up with the svcd:* trace lines.
if (process.env.DEBUG) process.stderr.write(`started ${new Date().toISOString()}\n`);
const registryMirrors = { "docker.io": registryUrl };
const client = await connect(socket ? { engine: "daemon", socket, registryMirrors } : { engine: "embedded", containerd: address, namespace, registryMirrors });
const connected = performance.now();
if (process.env.DEBUG) process.stderr.write(`connected ${new Date().toISOString()}\n`);
const out = await client
  .container()
  .from("busybox")
  .withEnvVariable("BUST", value)
  .withNewFile("/bench/in.txt", `hello ${value}`)
  .withExec(["sh", "-c", "cat /bench/in.txt > /bench/out.txt"])
  .withExec(["cat", "/bench/out.txt"])
  .stdout();
const done = performance.now();
await client.close();
if (out !== `hello ${value}`) throw new Error(`expected ${JSON.stringify(`hello ${value}`)}, got ${JSON.stringify(out)}`);
process.stdout.write(JSON.stringify({ ms: done - started, connectMs: connected - started }) + "\n");
