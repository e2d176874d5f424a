// The `connect()` integration tests use: the engine this pass tests. The embedded pass insists on an embedded
// engine (a daemon running on the machine never captures it); the daemon pass (scripts/daemon-pass.mjs sets
// SVCD_TEST_ENGINE=daemon and SVCD_SOCKET) insists on the rig's daemon, which serves the namespace these tests use —
// so the one daemon-wide option they pass, `namespace`, is dropped when it is that one, and refused otherwise (a
// file using another namespace belongs in the daemon pass's skip list).
import { connect as svcdConnect, type Client, type ConnectOptions } from "../../src/index.js";

export const testEngine: "embedded" | "daemon" = process.env.SVCD_TEST_ENGINE === "daemon" ? "daemon" : "embedded";
/** The namespace the daemon pass's daemon serves (svcd --namespace). */
export const DAEMON_NAMESPACE = "svcd-test";

export function connect(options: ConnectOptions = {}): Promise<Client> {
  if (testEngine === "embedded") return svcdConnect({ engine: "embedded", ...options });
  const { namespace, ...rest } = options;
  if (namespace !== undefined && namespace !== DAEMON_NAMESPACE) {
    throw new Error(`this test uses namespace ${namespace}, but the daemon pass's daemon serves ${DAEMON_NAMESPACE}: list the file in DAEMON_SKIP`);
  }
  return svcdConnect({ engine: "daemon", ...rest });
}
