// `<hostname>[@<session>]` names for svc ps/stop/logs: prefixes, exact matches winning, ambiguity listed.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { resolveServiceName, serviceName, type ServiceEntry } from "../../../src/cli/services.js";
import { UsageError } from "../../../src/cli/exit-codes.js";
import { NotFoundError } from "../../../src/common/errors.js";

const entry = (hostname: string, session: string): ServiceEntry => ({ namespace: "svcd", containerId: `${hostname}-${session}`, hostname, session, state: "running", image: "", ports: [], up: [] });
const all = [entry("abcdef1234567", "s1"), entry("abcdef1234567", "s2"), entry("abxyz00000000", "s1"), entry("web", "s1"), entry("webserver", "s1")];

test("a unique prefix, @session to choose, an exact hostname over longer ones", () => {
  assert.is(resolveServiceName("abx", all).hostname, "abxyz00000000");
  assert.is(serviceName(resolveServiceName("abc@s2", all)), "abcdef1234567@s2");
  assert.is(serviceName(resolveServiceName("web", all)), "web@s1");
  assert.is(serviceName(resolveServiceName("webs", all)), "webserver@s1");
});

test("ambiguous names list the candidates (usage error); unknown ones are not found", () => {
  assert.throws(() => resolveServiceName("abc", all), (e: unknown) => e instanceof UsageError && /ambiguous: abcdef1234567@s1, abcdef1234567@s2/.test((e as Error).message));
  assert.throws(() => resolveServiceName("ab", all), (e: unknown) => e instanceof UsageError);
  assert.throws(() => resolveServiceName("zz", all), (e: unknown) => e instanceof NotFoundError);
  assert.throws(() => resolveServiceName("@s1", all), (e: unknown) => e instanceof UsageError && /invalid service name/.test((e as Error).message));
});

test.run();
