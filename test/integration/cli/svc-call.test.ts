// `svc call` and `svc functions` as a user runs them: a child process, the real engine (embedded, or the daemon in
// the daemon pass). The seed's three examples — get, http-service up, user-list with a host MariaDB — and a module
// of the test's own outside the project (no node_modules beside it), with typed options, lists, a Container, a
// failing exec and command-line mistakes.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { HostProcessRunner } from "../../../src/common/process-runner.js";
import { startMariadb, type Mariadb } from "../../rig/mariadb.js";
import { freePort } from "../../rig/registry.js";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const svcEntry = join(repo, "src/cli/svc.ts");
const hello = join(repo, "examples/hello.ts");
/** tsx's loader by URL: the children run in directories where no node_modules would find it. */
const tsx = import.meta.resolve("tsx");

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], cwd = repo): ChildProcess {
  return spawn(process.execPath, ["--import", tsx, svcEntry, ...args], { cwd, env: process.env, stdio: ["ignore", "pipe", "pipe"] });
}

async function svc(args: string[], cwd = repo): Promise<Ran> {
  const child = start(args, cwd);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (b: Buffer) => (stdout += b));
  child.stderr!.on("data", (b: Buffer) => (stderr += b));
  const [status] = (await once(child, "close")) as [number | null];
  return { status, stdout, stderr };
}

const MODULE = `
import { dag, type Container } from "svcd";

/** Greets from a container, \`times\` times. */
export async function greet({ name, times = 1, loud }: {
  /** Who is greeted. */
  name: string;
  times?: number;
  loud?: boolean;
}): Promise<string[]> {
  const out = await dag.container().from("busybox")
    .withExec(["sh", "-c", 'for i in $(seq "$0"); do echo "hello $1"; done', String(times), name])
    .stdout();
  const lines = out.trim().split("\\n");
  return loud ? lines.map((l) => l.toUpperCase()) : lines;
}

export async function fail({ code }: { code: number }): Promise<Container> {
  return dag.container().from("busybox").withExec(["sh", "-c", 'echo "bad thing" >&2; exit "$0"', String(code)]).sync();
}

export function broken(): string {
  throw new TypeError("broken on purpose");
}

export function base(): Container {
  return dag.container().from("busybox").withEnvVariable("SVC_TEST", "1");
}
`;

const test = suite<{ dir: string; db: Promise<Mariadb> }>("svc call");

test.before((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), "svc-module-"));
  writeFileSync(join(ctx.dir, "tools.ts"), MODULE);
  // The seed's database: root may log in from the host's loopback (where a host service dials from) with "secret".
  ctx.db = startMariadb(new HostProcessRunner(), ["ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY 'secret';"]);
  ctx.db.catch(() => {});
});
test.after(async (ctx) => {
  rmSync(ctx.dir, { recursive: true, force: true });
  await (await ctx.db.catch(() => undefined))?.stop();
});

test("svc call -m examples/hello.ts get prints Hello, world!", async () => {
  const r = await svc(["call", "-q", "-m", "examples/hello.ts", "get"]);
  assert.is(r.stdout, "Hello, world!\n", r.stderr);
  assert.is(r.status, 0);
  assert.is(r.stderr, "", "-q: no progress");
});

test("http-service up --ports <free>:8080 serves the page to the host until SIGINT, then stops with nothing left", async () => {
  const port = await freePort();
  const child = start(["-q", "call", "-m", hello, "http-service", "up", "--ports", `${port}:8080`]);
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (b: Buffer) => (stderr += b));
  const exited = once(child, "close");
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (b: Buffer) => {
      stdout += b;
      if (stdout.includes("\n")) resolve();
    });
    child.once("close", () => reject(new Error(`svc exited before serving: ${stderr}`)));
  });
  assert.is(stdout, `127.0.0.1:${port} -> 8080/tcp\n`);
  const page = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
  assert.is(page, "Hello, world!");
  child.kill("SIGINT");
  const [status] = (await exited) as [number | null];
  assert.is(status, 0, stderr);
  const refused = await new Promise<boolean>((resolve) => {
    const s = netConnect({ host: "127.0.0.1", port });
    s.once("connect", () => (s.destroy(), resolve(false)));
    s.once("error", () => resolve(true));
  });
  assert.ok(refused, "the host port is closed once svc has exited");
});

test("user-list --svc=tcp://localhost:<port> lists MariaDB's users through a host service", async (ctx) => {
  const { port } = await ctx.db;
  const r = await svc(["-q", "call", "-m", hello, "user-list", `--svc=tcp://localhost:${port}`]);
  assert.is(r.status, 0, r.stderr);
  const rows = r.stdout.trim().split("\n").map((l) => l.split("\t"));
  assert.equal(rows[0], ["Host", "User"], r.stdout);
  assert.ok(rows.some(([host, user]) => host === "127.0.0.1" && user === "root"), r.stdout);
});

test("a module outside the project: typed options (kebab-case flags), lists one item a line, -j, a Container's digest", async (ctx) => {
  const loud = await svc(["-q", "call", "-m", "tools.ts", "greet", "--name", "bob", "--times", "2", "--loud"], ctx.dir);
  assert.is(loud.stdout, "HELLO BOB\nHELLO BOB\n", loud.stderr);
  assert.is(loud.status, 0);
  const json = await svc(["-q", "call", "-m", join(ctx.dir, "tools.ts"), "-j", "greet", "--name=x y"]);
  assert.equal(JSON.parse(json.stdout), ["hello x y"], json.stderr);
  const digest = await svc(["-q", "call", "-m", "tools.ts", "base"], ctx.dir);
  assert.match(digest.stdout, /^sha256:[0-9a-f]{64}\n$/, digest.stderr);
});

test("a failed exec exits with the container's exit code and says why", async (ctx) => {
  const r = await svc(["-q", "call", "-m", "tools.ts", "fail", "--code", "7"], ctx.dir);
  assert.is(r.status, 7, r.stderr);
  assert.match(r.stderr, /bad thing/);
  const j = await svc(["-q", "call", "-m", "tools.ts", "-j", "fail", "--code", "3"], ctx.dir);
  assert.is(j.status, 3);
  assert.is(JSON.parse(j.stdout).error.code, "EXEC_FAILED");
});

test("command-line mistakes exit 2 and name the fix; a module's runtime failure exits 1", async (ctx) => {
  const cases: [string[], RegExp][] = [
    [["call", "-m", "tools.ts", "greet"], /greet needs --name <string>/],
    [["call", "-m", "tools.ts", "greet", "--name", "a", "--bogus", "1"], /greet has no option --bogus \(it takes --name, --times, --loud\)/],
    [["call", "-m", "tools.ts", "greet", "--name", "a", "--times", "many"], /--times "many": not a number/],
    [["call", "-m", "tools.ts", "nope"], /has no function "nope"; it exports: base, broken, fail, greet/],
    [["call", "-m", "missing.ts", "get"], /-m missing\.ts: no such file/],
    [["call", "-m", "tools.ts", "greet", "--name", "a", "up"], /up: greet returned an Array, not a Service/],
    [["call", "get"], /required option '-m, --mod <module>' not specified/],
    [["frobnicate"], /unknown command 'frobnicate'/],
  ];
  for (const [args, message] of cases) {
    const r = await svc(["-q", ...args], ctx.dir);
    assert.match(r.stderr, message, `${args.join(" ")}: ${r.stderr}`);
    assert.is(r.status, 2, `${args.join(" ")} exits 2`);
  }
  const broken = await svc(["-q", "call", "-m", "tools.ts", "broken"], ctx.dir);
  assert.is(broken.status, 1);
  assert.match(broken.stderr, /TypeError: broken on purpose\n\s+at broken \(/, "a bug in the module shows its stack");
});

test("svc functions lists the functions with their options, types and descriptions", async (ctx) => {
  const r = await svc(["functions", "-m", "tools.ts"], ctx.dir);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /^greet\s+Greets from a container, `times` times\.$/m);
  assert.match(r.stdout, /^ {4}--name <string> \(required\) {2}Who is greeted\.$/m);
  assert.match(r.stdout, /^ {4}--times <number>$/m);
  assert.match(r.stdout, /^ {4}--loud <boolean>$/m);
  assert.match(r.stdout, /^fail\s*$/m);
  assert.match(r.stdout, /^ {4}--code <number> \(required\)$/m);
  const j = await svc(["functions", "-m", hello, "-j"]);
  const names = (JSON.parse(j.stdout) as { command: string; options: { flag: string }[] }[]).map((f) => [f.command, f.options.map((o) => o.flag)]);
  assert.equal(names, [["http-service", []], ["get", []], ["user-list", ["svc"]]]);
});

test.run();
