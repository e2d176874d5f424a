// The engine's idle memory in a process of its own (issue 13): node --expose-gc bench/lib/idle-rss.mjs '<connect
// options as JSON>' connects an embedded engine, waits a moment for connect's background work (reaper, GC pass) to
// settle, collects garbage and prints this process's RSS and heap in use (MiB) as JSON on stdout. containerd, the
// shims and the engine's helpers (forward agent, slirp4netns) are other processes: not counted. BENCH_DIST=1 loads
// dist/ (what users run); otherwise src/ through tsx, whose loader and transpiled sources count too.
import { load } from "./svcd.mjs";

const { connect } = await load("index.js");
const client = await connect(JSON.parse(process.argv[2] ?? "{}"));
try {
  await new Promise((r) => setTimeout(r, Number(process.env.IDLE_SETTLE_MS ?? 2000)));
  for (let i = 0; i < 2; i++) {
    globalThis.gc();
    await new Promise((r) => setImmediate(r));
  }
  const m = process.memoryUsage();
  process.stdout.write(JSON.stringify({ rss: m.rss / 2 ** 20, heap: m.heapUsed / 2 ** 20 }) + "\n");
} finally {
  await client.close();
}
