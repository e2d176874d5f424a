// svc call's words → the function's options object and `up`'s request; kebab/camel names.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { buildOptions, camelCase, parseUpArgs, splitCallArgs } from "../../../src/cli/call/call-args.js";
import type { FunctionInfo } from "../../../src/cli/module/introspect.js";
import { kebabCase } from "../../../src/cli/module/names.js";
import { UsageError } from "../../../src/cli/exit-codes.js";

const fn: FunctionInfo = {
  name: "userList",
  command: "user-list",
  options: [
    { name: "svc", flag: "svc", kind: "service", typeText: "Service", optional: false },
    { name: "limit", flag: "limit", kind: "number", typeText: "number", optional: true },
    { name: "verbose", flag: "verbose", kind: "boolean", typeText: "boolean", optional: true },
    { name: "tags", flag: "tags", kind: "string[]", typeText: "string[]", optional: true },
    { name: "dbName", flag: "db-name", kind: "string", typeText: "string", optional: true },
  ],
};
const service = (uri: string) => ({ uri });

test("names: camelCase exports ↔ kebab-case commands and flags", () => {
  assert.is(kebabCase("httpService"), "http-service");
  assert.is(kebabCase("userList"), "user-list");
  assert.is(kebabCase("getHTTPServer"), "get-http-server");
  assert.is(kebabCase("get"), "get");
  assert.is(camelCase("keep-storage"), "keepStorage");
});

test("values: = and space forms, booleans without a value, repeated lists, a tcp:// value becomes a host service", () => {
  const args = splitCallArgs(["--svc=tcp://localhost:3306", "--limit", "5", "--verbose", "--tags", "a,b", "--tags", "c", "--db-name", "x y"], new Set(["verbose"]));
  assert.equal(buildOptions(args, fn, service), { svc: { uri: "tcp://localhost:3306" }, limit: 5, verbose: true, tags: ["a", "b", "c"], dbName: "x y" });
  const off = splitCallArgs(["--svc", "udp://127.0.0.1:53", "--verbose=false"], new Set(["verbose"]));
  assert.equal(buildOptions(off, fn, service), { svc: { uri: "udp://127.0.0.1:53" }, verbose: false });
});

test("without declared options every flag passes as a string (a URI as a service), camel-cased", () => {
  const args = splitCallArgs(["--db-host", "x", "--svc", "tcp://h:1", "--flag"]);
  assert.equal(buildOptions(args, undefined, service), { dbHost: "x", svc: { uri: "tcp://h:1" }, flag: true });
});

test("up and what follows it", () => {
  const args = splitCallArgs(["--limit", "1", "up", "--ports", "9000:8080", "--ports=53/udp,1:2", "--random", "--bind", "0.0.0.0"]);
  assert.equal(args.up, {
    ports: [{ frontend: 9000, backend: 8080, protocol: "TCP" }, { backend: 53, protocol: "UDP" }, { frontend: 1, backend: 2, protocol: "TCP" }],
    random: true,
    bind: "0.0.0.0",
  });
  assert.equal(parseUpArgs([]), { ports: [], random: false });
});

test("mistakes are UsageErrors that name the fix", () => {
  const cases: [() => unknown, RegExp][] = [
    [() => buildOptions(splitCallArgs([]), fn, service), /user-list needs --svc <Service>/],
    [() => buildOptions(splitCallArgs(["--svc", "tcp://h:1", "--nope", "1"]), fn, service), /user-list has no option --nope \(it takes --svc, --limit, --verbose, --tags, --db-name\)/],
    [() => buildOptions(splitCallArgs(["--svc", "tcp://h:1", "--limit", "ten"]), fn, service), /--limit "ten": not a number/],
    [() => buildOptions(splitCallArgs(["--svc", "tcp://h:1", "--limit", ""]), fn, service), /not a number/],
    [() => buildOptions(splitCallArgs(["--svc", "tcp://h:1", "--limit", "1", "--limit", "2"]), fn, service), /--limit given 2 times/],
    [() => buildOptions(splitCallArgs(["--svc", "tcp://h:1", "--db-name"]), fn, service), /--db-name needs a value \(string\)/],
    [() => buildOptions(splitCallArgs(["--svc", "tcp://h:1", "--verbose=maybe"], new Set(["verbose"])), fn, service), /use --verbose \(true\) or --verbose=false/],
    [() => splitCallArgs(["positional"]), /unexpected "positional"/],
    [() => splitCallArgs(["--bad name"]), /invalid option/],
    [() => parseUpArgs(["--ports", "0:80"]), /1–65535/],
    [() => parseUpArgs(["--ports", "x"]), /use FRONTEND:BACKEND/],
    [() => parseUpArgs(["--ports"]), /--ports needs a value/],
    [() => parseUpArgs(["--nope"]), /up takes --ports/],
  ];
  for (const [fnCall, message] of cases) {
    try {
      fnCall();
      assert.unreachable(`expected ${message}`);
    } catch (err) {
      assert.instance(err, UsageError);
      assert.match((err as Error).message, message);
    }
  }
});

test.run();
