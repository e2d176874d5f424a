// The svcd daemon for a bench: dist/cli/svcd.js on a private socket with the bench's environment (containerd, dirs,
// mirrors), with the flag its own shebang gives it (--max-semi-space-size=1), resolved once it says it is serving;
// stopped (SIGTERM) by the bench's cleanups.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

export async function startDaemon(cleanups, socket, namespace) {
  const entry = fileURLToPath(new URL("../../dist/cli/svcd.js", import.meta.url));
  const child = spawn(process.execPath, ["--max-semi-space-size=1", "--expose-gc", entry, "--socket", socket, "--namespace", namespace], { env: process.env, stdio: ["ignore", "inherit", "pipe"] });
  let err = "";
  child.stderr.setEncoding("utf8");
  await new Promise((resolve, reject) => {
    const onData = (chunk) => {
      err += chunk;
      if (err.includes("serving on")) {
        child.off("exit", onExit);
        resolve();
      }
    };
    const onExit = (code, signal) => {
      child.stderr.off("data", onData);
      reject(new Error(`svcd exited (${signal ?? code}) before serving:\n${err}`));
    };
    child.stderr.on("data", onData);
    child.once("exit", onExit);
  });
  child.stderr.on("data", (chunk) => process.stderr.write(chunk)); // its log from here on
  cleanups.push("svcd daemon", async () => {
    child.kill("SIGTERM");
    await once(child, "exit");
  });
  return child;
}
