// Benchmark: svcd through its daemon vs embedded (issue 10), in one run. S1, the seed scenario — start an httpd
// service until healthy, run a busybox client that fetches its page through the alias `www`, stop the service —
// and S3, 10 services started concurrently to all-healthy, then stopped; the two sides alternate every iteration
// (bench/lib/stats.mjs `alternate`). Also: the idle daemon's RSS (containerd not counted) at start and after the
// runs, and a load of C concurrent daemon clients each running the seed scenario L times (scenarios per second, p99).
// Both sides use the same containerd and dirs: the daemon is started with the bench's environment.
//   node bench/daemon.mjs            N=20 (iterations per side) C=20 L=10
import { existsSync } from "node:fs";
import { svcdContainerd } from "./lib/engine.mjs";
import { Cleanups, privateSvcdDirs, registryWith } from "./lib/session.mjs";
import { alternate, iterations, machineLine, report } from "./lib/stats.mjs";
import { startDaemon } from "./lib/daemon.mjs";
import { load } from "./lib/svcd.mjs";

const { connect } = await load("index.js");
const { daemonStatus } = await load("daemon/index.js");
const n = iterations();
const C = Number(process.env.C ?? 20);
const L = Number(process.env.L ?? 10);
const K = 10;
const BODY = "Hello, world!";
const cleanups = new Cleanups();
const log = (s) => process.stderr.write(s + "\n");
const MiB = 1024 * 1024;
let seq = 0;
const unique = () => `${process.pid}-${++seq}-${Math.random().toString(36).slice(2, 8)}`;


function scenarios(client) {
  const httpd = (k) => {
    let c = client.container().from("busybox").withNewFile("/www/index.html", BODY);
    if (k !== undefined) c = c.withEnvVariable("K", String(k));
    return c.withExposedPort(8080).withEntrypoint(["httpd", "-f", "-p", "8080", "-h", "/www"]).asService();
  };
  const svc = httpd();
  const expect = (out) => {
    if (out !== BODY) throw new Error(`unexpected body: ${JSON.stringify(out)}`);
  };
  const s3Services = Array.from({ length: K }, (_, k) => httpd(k + 1));
  return {
    s1: async () => {
      await svc.start();
      expect(await client.container().from("busybox").withEnvVariable("N", unique()).withServiceBinding("www", svc).withExec(["wget", "-q", "-O-", "http://www:8080/"]).stdout());
      await svc.stop({ kill: true });
    },
    s3: async () => {
      await Promise.all(s3Services.map((s) => s.start()));
      await Promise.all(s3Services.map((s) => s.stop({ kill: true })));
    },
  };
}

try {
  const dirs = await privateSvcdDirs(cleanups);
  const registry = await registryWith(cleanups, ["busybox"]);
  const namespace = `bench-daemon-${process.pid}`;
  // The system containerd when one runs, else svcd's managed one (started in the run's private dirs).
  const system = process.env.CONTAINERD_ADDRESS ?? (existsSync("/run/containerd/containerd.sock") ? "/run/containerd/containerd.sock" : undefined);
  const { option } = await svcdContainerd(system);
  process.env.SVCD_REGISTRY_MIRRORS = `docker.io=${registry.url}`;
  if (option.containerd) process.env.CONTAINERD_ADDRESS = option.containerd;
  const socket = `/tmp/svcd-bench-${process.pid}.sock`;
  await startDaemon(cleanups, socket, namespace);
  const rssStart = Number((await daemonStatus(socket, { gc: true })).rss);
  const embedded = await connect({ ...option, engine: "embedded", namespace, serviceGracePeriodMs: 0 });
  cleanups.push("embedded client", () => embedded.close());
  const remote = await connect({ engine: "daemon", socket, serviceGracePeriodMs: 0 });
  cleanups.push("daemon client", () => remote.close());
  const e = scenarios(embedded);
  const d = scenarios(remote);
  const out = [`## svcd daemon vs embedded (${await machineLine()}, N=${n}, dirs ${dirs.state ?? "default"})`, ""];
  const s1 = await alternate([{ name: "daemon S1", run: d.s1 }, { name: "embedded S1", run: e.s1 }], { n, log });
  out.push(report("S1: start → client → stop", s1, [["daemon S1", "embedded S1", 1.05]]), "");
  const s3 = await alternate([{ name: "daemon S3", run: d.s3 }, { name: "embedded S3", run: e.s3 }], { n: Math.max(3, Math.round(n / 2)), log });
  out.push(report("S3: 10 services to all-healthy, then stopped", s3, [["daemon S3", "embedded S3", 1.05]]), "");
  await remote.close();
  await embedded.close();
  // Load: C clients × L seed scenarios (JIT start through a binding, grace 0), all through the daemon.
  const latencies = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: C }, async (_, i) => {
      const c = await connect({ engine: "daemon", socket, serviceGracePeriodMs: 0 });
      try {
        const web = c.container().from("busybox").withEnvVariable("CLIENT", String(i)).withNewFile("/www/index.html", BODY).withExposedPort(8080).withEntrypoint(["httpd", "-f", "-p", "8080", "-h", "/www"]).asService();
        for (let j = 0; j < L; j++) {
          const t = performance.now();
          const body = await c.container().from("busybox").withEnvVariable("N", unique()).withServiceBinding("www", web).withExec(["wget", "-q", "-O-", "http://www:8080/"]).stdout();
          if (body !== BODY) throw new Error(`unexpected body ${JSON.stringify(body)}`);
          latencies.push(performance.now() - t);
        }
      } finally {
        await c.close();
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const idle = await daemonStatus(socket, { gc: true });
  out.push(
    `### Load: ${C} clients × ${L} seed scenarios through one daemon`,
    "",
    `- ${latencies.length} scenarios in ${seconds.toFixed(1)} s: **${(latencies.length / seconds).toFixed(1)} scenarios/s**, p50 ${latencies[latencies.length >> 1].toFixed(0)} ms, **p99 ${latencies[Math.floor(latencies.length * 0.99)].toFixed(0)} ms**`,
    "",
    "### Idle daemon memory (containerd not counted)",
    "",
    `- RSS at start **${(rssStart / MiB).toFixed(1)} MiB**, after the runs (GC) **${(Number(idle.rss) / MiB).toFixed(1)} MiB** (goal ≤ 60 MB: ${Math.max(rssStart, Number(idle.rss)) <= 60e6 ? "met" : "NOT met"}); heap in use after GC ${(Number(idle.heap_used) / MiB).toFixed(1)} MiB, ${idle.open_fds} fds`,
  );
  process.stdout.write(out.join("\n") + "\n");
} finally {
  await cleanups.run();
}
