import { test } from "uvu";
import * as assert from "uvu/assert";
import { Client } from "../../../src/api/client.js";
import { parseServiceUri } from "../../../src/api/host.js";
import type { Engine } from "../../../src/definition/index.js";
import { isCode } from "../../helpers/errors.js";

const client = new Client(new Promise<Engine>(() => {}));

test("service URIs parse to a host and one port", () => {
  assert.equal(parseServiceUri("tcp://localhost:3306"), { host: "localhost", port: { backend: 3306, protocol: "TCP" } });
  assert.equal(parseServiceUri("udp://127.0.0.1:53"), { host: "127.0.0.1", port: { backend: 53, protocol: "UDP" } });
  assert.equal(parseServiceUri("tcp://[::1]:80"), { host: "::1", port: { backend: 80, protocol: "TCP" } });
  for (const bad of ["http://x:1", "tcp://x", "tcp://x:0", "tcp://x:70000", "tcp://a b:1", "tcp://x:1/path", "tcp://x:1\n"]) {
    assert.throws(() => parseServiceUri(bad), isCode("INVALID_ARGUMENT"), bad);
  }
});

test("host().service() validates ports and the host, and defaults frontend to backend", () => {
  const svc = client.host().service([{ backend: 3306 }, { frontend: 53, backend: 5353, protocol: "UDP" }]);
  assert.equal(svc.definition(), {
    kind: "host",
    host: "localhost",
    ports: [{ frontend: 3306, backend: 3306, protocol: "TCP" }, { frontend: 53, backend: 5353, protocol: "UDP" }],
  });
  assert.throws(() => client.host().service([]), isCode("INVALID_ARGUMENT"));
  assert.throws(() => client.host().service([{ backend: 0 }]), isCode("INVALID_ARGUMENT"));
  assert.throws(() => client.host().service([{ backend: 1 }], { host: "evil host\n" }), isCode("INVALID_ARGUMENT"));
  assert.equal(client.service("tcp://db.local:5432").definition(), { kind: "host", host: "db.local", ports: [{ frontend: 5432, backend: 5432, protocol: "TCP" }] });
});

test.run();
