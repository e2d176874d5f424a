// The seed example: an HTTP service in a python container, fetched by name from a busybox client.
// Run it with `npm run demo` (or `npx tsx examples/hello.ts`).
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

// Run directly: print the page, then end the session.
if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    console.log(await get());
  } finally {
    await dag.close();
  }
}
