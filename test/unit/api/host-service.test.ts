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

test("service URIs: user info, zones, malformed IPv6, other schemes and paths are refused, naming the URI", () => {
  assert.equal(parseServiceUri("tcp://[::ffff:127.0.0.1]:5432").host, "::ffff:127.0.0.1");
  assert.equal(parseServiceUri("TCP://Localhost:1").host, "Localhost");
  for (const [bad, reason] of [
    ["tcp://user:pw@localhost:3306", /user info/],
    ["tcp://user@localhost:3306", /user info/],
    ["tcp://[:::1]:3306", /not an IPv6 address/],
    ["tcp://[::1::2]:1", /not an IPv6 address/],
    ["tcp://[1.2.3.4]:1", /not an IPv6 address/],
    ["tcp://[fe80::1%eth0]:1", /zone/],
    ["tcp://::1:3306", /host:port|bracket/],
    ["http://localhost:80", /scheme "http"/],
    ["unix:///var/run/docker.sock", /scheme "unix"/],
    ["localhost:3306", /tcp:\/\/host:port/],
    ["tcp://localhost:1?x=1", /query/],
    ["tcp://a..b:1", /host/],
    ["tcp://1.2.3.4.5:1", /host/],
    ["tcp://:1", /host/],
    ["tcp://localhost:65536", /port/],
  ] as const) {
    assert.throws(() => parseServiceUri(bad), isCode("INVALID_ARGUMENT", reason), bad);
    assert.throws(() => client.service(bad), (e: unknown) => isCode("INVALID_ARGUMENT")(e) && (e as Error).message.includes(JSON.stringify(bad)), bad);
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
  for (const host of ["a..b", "999.1.1.1", "fe80::1%eth0", "x@y"]) {
    assert.throws(() => client.host().service([{ backend: 1 }], { host }), isCode("INVALID_ARGUMENT", /host/), host);
  }
  assert.throws(() => client.host().service([null as unknown as { backend: number }]), isCode("INVALID_ARGUMENT"));
  assert.throws(() => client.host().service([{ backend: 1, protocol: "SCTP" as "TCP" }]), isCode("INVALID_ARGUMENT", /protocol/));
  assert.equal(client.service("tcp://db.local:5432").definition(), { kind: "host", host: "db.local", ports: [{ frontend: 5432, backend: 5432, protocol: "TCP" }] });
});

test.run();
