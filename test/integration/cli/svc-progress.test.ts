// svc's progress output as a user sees it: per-layer bars under a pseudo-terminal (script(1)), plain lines without
// one — a layer when it starts and ends, the image, each build step, each service start — and nothing with -q.
// Each case pulls an image of its own (busybox plus a unique layer, pushed to the run's registry), so there is a
// download to show.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pack } from "tar-stream";
import { pushDerivedImage } from "../../rig/derived-image.js";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const svcEntry = join(repo, "src/cli/svc.ts");
const tsx = import.meta.resolve("tsx");

async function uniqueImage(tag: string): Promise<string> {
  const tar = pack();
  tar.entry({ name: "progress-test.txt" }, `${tag} ${Math.random()}\n${"x".repeat(256 * 1024)}`);
  tar.finalize();
  const chunks: Buffer[] = [];
  for await (const c of tar) chunks.push(c as Buffer);
  return pushDerivedImage({ from: "busybox", name: `progress-${process.pid}`, tag, edit: () => {}, extraLayerTar: Buffer.concat(chunks) });
}

async function run(file: string, args: string[], env = process.env): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(file, args, { cwd: repo, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (b: Buffer) => (stdout += b));
  child.stderr!.on("data", (b: Buffer) => (stderr += b));
  const [status] = (await once(child, "close")) as [number | null];
  return { status, stdout, stderr };
}

const test = suite<{ dir: string }>("svc progress");

test.before((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), "svc-progress-"));
  writeFileSync(join(ctx.dir, "m.ts"), `
import { dag } from "svcd";
export async function cat({ image }: { image: string }): Promise<string> {
  return dag.container().from(image).withExec(["head", "-c", "8", "/progress-test.txt"]).stdout();
}
export async function served(): Promise<string> {
  const web = dag.container().from("busybox").withNewFile("/www/index.html", "up").withExposedPort(8080)
    .asService({ args: ["httpd", "-f", "-p", "8080", "-h", "/www"] });
  // A fresh step each run: a cached one would not start its bindings.
  return dag.container().from("busybox").withEnvVariable("RUN", String(Math.random())).withServiceBinding("web", web).withExec(["wget", "-qO-", "http://web:8080"]).stdout();
}
`);
});
test.after((ctx) => rmSync(ctx.dir, { recursive: true, force: true }));

test("without a terminal: plain lines on stderr, one per layer start and end, the image, the step; stdout only the result", async (ctx) => {
  const image = await uniqueImage("plain");
  const r = await run(process.execPath, ["--import", tsx, svcEntry, "call", "-m", join(ctx.dir, "m.ts"), "cat", "--image", image]);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, "plain 0.\n");
  assert.match(r.stderr, /^pull docker\.io\/library\/progress-\d+:plain: layer [0-9a-f]{12} \(\d+(\.\d)? (B|KiB|MiB)\)$/m);
  assert.match(r.stderr, /^pull docker\.io\/library\/progress-\d+:plain: layer [0-9a-f]{12} done$/m);
  assert.match(r.stderr, /^pulled docker\.io\/library\/progress-\d+:plain sha256:[0-9a-f]{64}$/m);
  assert.match(r.stderr, /^exec \["head","-c","8","\/progress-test\.txt"\]$/m);
  assert.not.match(r.stderr, /\u001b\[/, "no escape codes");
});

test("under a pseudo-terminal: a progress bar per layer", async (ctx) => {
  const image = await uniqueImage("tty");
  const command = [process.execPath, "--import", tsx, svcEntry, "call", "-m", join(ctx.dir, "m.ts"), "cat", "--image", image].map((a) => `'${a}'`).join(" ");
  const r = await run("script", ["-qfec", command, "/dev/null"], { ...process.env, TERM: "xterm", COLUMNS: "160" });
  assert.is(r.status, 0, r.stdout);
  assert.match(r.stdout, /docker\.io\/library\/progress-\d+:tty [0-9a-f]{12} \[[█░]+\] 100% \S+ \S+\/\S+ \S+/, "a finished bar");
  assert.match(r.stdout, /\u001b\[\?25l/, "the cursor hidden while drawing");
  assert.match(r.stdout, /tty 0\./, "and the result");
});

test("-q: nothing on stderr; --progress plain shows service starts and readiness", async (ctx) => {
  const image = await uniqueImage("quiet");
  const quiet = await run(process.execPath, ["--import", tsx, svcEntry, "-q", "call", "-m", join(ctx.dir, "m.ts"), "cat", "--image", image]);
  assert.is(quiet.status, 0, quiet.stderr);
  assert.is(quiet.stderr, "");
  const plain = await run(process.execPath, ["--import", tsx, svcEntry, "--progress", "plain", "call", "-m", join(ctx.dir, "m.ts"), "served"]);
  assert.is(plain.stdout, "up\n", plain.stderr);
  assert.match(plain.stderr, /^service [0-9a-v]{13}: starting \(waiting for its readiness checks\)$/m, plain.stderr);
  assert.match(plain.stderr, /^service [0-9a-v]{13}: ready$/m);
});

test.run();
