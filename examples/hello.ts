// The seed example's three functions, for `svc call` (and importable as a library):
//   svc call -m examples/hello.ts get                                   → Hello, world!
//   svc call -m examples/hello.ts http-service up --ports 9000:8080     (then: curl localhost:9000)
//   svc call -m examples/hello.ts user-list --svc=tcp://localhost:3306  (a MariaDB on the host: root / secret)
// `npm run demo` runs the first one.
import { dag, type Service } from "svcd";

/** A web server serving "Hello, world!" on port 8080. */
export function httpService(): Service {
  return dag.container().from("python")
    .withWorkdir("/srv")
    .withNewFile("index.html", "Hello, world!")
    .withExposedPort(8080)
    .asService({ args: ["python", "-m", "http.server", "8080"] });
}

/** Fetches the page from a client container that binds the service as `www`. */
export async function get(): Promise<string> {
  return dag.container().from("busybox")
    .withServiceBinding("www", httpService())
    .withExec(["wget", "-O-", "http://www:8080"])
    .stdout();
}

/** Lists MariaDB's users (SELECT Host, User FROM mysql.user) through a host service, as root with password `secret`. */
export async function userList({ svc }: { /** The database, e.g. tcp://localhost:3306. */ svc: Service }): Promise<string> {
  const [db] = await svc.ports();
  return dag.container().from("mariadb-client")
    .withServiceBinding("db", svc)
    .withExec(["mariadb", "--host=db", `--port=${db?.port ?? 3306}`, "--user=root", "--password=secret", "-e", "SELECT Host, User FROM mysql.user"])
    .stdout();
}
