// The seed's host-service example: a MariaDB on the host (a private mariadbd this test starts, with real grants) is
// queried from a container built from the rig's mariadb-client image, through client.service() / host().service().
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { type Client } from "../../../src/index.js";
import { connect } from "../../rig/connect.js";
import { ExecError } from "../../../src/common/errors.js";
import { HostProcessRunner } from "../../../src/common/process-runner.js";
import { startMariadb, type Mariadb } from "../../rig/mariadb.js";

const USER = "svcd";
const PASSWORD = `pw-${Math.random().toString(36).slice(2, 12)}`;
const test = suite<{ client: Client; db: Promise<Mariadb> }>("host service: MariaDB");
const unique = () => `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

test.before(async (ctx) => {
  // Started here, awaited in each test: an error thrown by a before hook would be swallowed by uvu, not reported.
  ctx.db = startMariadb(new HostProcessRunner(), [
    `CREATE USER '${USER}'@'127.0.0.1' IDENTIFIED BY '${PASSWORD}';`,
    `GRANT SELECT ON mysql.user TO '${USER}'@'127.0.0.1';`,
  ]);
  ctx.db.catch(() => {});
  ctx.client = await connect({ namespace: "svcd-test", serviceGracePeriodMs: 200 });
});
test.after(async (ctx) => {
  await ctx.client?.close();
  const db = await ctx.db?.catch(() => undefined);
  await db?.stop();
});

test("SELECT Host, User FROM mysql.user from a container, through client.service(tcp://127.0.0.1:<port>)", async (ctx) => {
  const { port } = await ctx.db;
  const out = await ctx.client.container().from("mariadb-client").withEnvVariable("N", unique())
    .withServiceBinding("db", ctx.client.service(`tcp://127.0.0.1:${port}`))
    .withExec(["mariadb", "-h", "db", "-P", String(port), "-u", USER, `-p${PASSWORD}`, "-e", "SELECT Host, User FROM mysql.user"])
    .stdout();
  const rows = out.trim().split("\n").map((line) => line.split("\t"));
  assert.equal(rows[0], ["Host", "User"], out);
  assert.ok(rows.some(([host, user]) => host === "127.0.0.1" && user === USER), out);
});

test("host().service maps db:3306 to the server's port; the server sees the container as svcd@127.0.0.1", async (ctx) => {
  const { port } = await ctx.db;
  const db = ctx.client.host().service([{ frontend: 3306, backend: port }], { host: "127.0.0.1" });
  const out = await ctx.client.container().from("mariadb-client").withEnvVariable("N", unique())
    .withServiceBinding("db", db)
    .withExec(["mariadb", "-h", "db", "-u", USER, `-p${PASSWORD}`, "-N", "-e", "SELECT CURRENT_USER()"])
    .stdout();
  assert.is(out, `${USER}@127.0.0.1\n`);
});

test("grants are real: a wrong password is refused by the server", async (ctx) => {
  const { port } = await ctx.db;
  const run = ctx.client.container().from("mariadb-client").withEnvVariable("N", unique())
    .withServiceBinding("db", ctx.client.service(`tcp://127.0.0.1:${port}`))
    .withExec(["mariadb", "-h", "db", "-P", String(port), "-u", USER, "-pnot-the-password", "-e", "SELECT 1"])
    .stdout();
  const err = await run.then(() => undefined, (e: unknown) => e);
  assert.instance(err, ExecError);
  assert.match((err as ExecError).stderr, /Access denied for user 'svcd'@'127\.0\.0\.1'/, (err as Error).message);
});

test.run();
