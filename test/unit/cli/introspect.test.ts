// What `svc functions` and `svc call` read from a module's source: exported functions (declarations, arrow
// functions, export lists), their options from type literals, interfaces or destructuring, JSDoc descriptions.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { introspectModule, kindOf } from "../../../src/cli/module/introspect.js";

const dir = mkdtempSync(join(tmpdir(), "svc-introspect-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

test("TypeScript: declarations, arrow functions, interfaces, optional members and defaults, JSDoc", async () => {
  const path = write("m.ts", `
import type { Service } from "svcd";
interface DbOptions {
  /** The database. */
  svc: Service;
  limit?: number;
}
/** Lists users.
 * Second line. */
export async function userList(opts: DbOptions): Promise<string> { return ""; }
/** Says hi. */
export const hi = ({ name = "you", loud }: { name?: string; loud: boolean }): string => name;
function hidden() {}
function listed({ tags }: { tags: string[] }) {}
export { listed as renamed };
export default function ignored() {}
`);
  const fns = await introspectModule(path);
  assert.equal(fns.map((f) => f.command), ["user-list", "hi", "renamed"], "named exports only, in source order");
  const [userList, hi, renamed] = fns;
  assert.is(userList!.description, "Lists users.\nSecond line.");
  assert.is(userList!.returns, "Promise<string>");
  assert.equal(userList!.options.map((o) => [o.flag, o.kind, o.optional, o.description]), [["svc", "service", false, "The database."], ["limit", "number", true, undefined]]);
  assert.is(hi!.description, "Says hi.");
  assert.equal(hi!.options.map((o) => [o.name, o.kind, o.optional]), [["name", "string", true], ["loud", "boolean", false]]);
  assert.equal(renamed!.options.map((o) => [o.name, o.kind]), [["tags", "string[]"]]);
});

test("JavaScript with JSDoc @param types", async () => {
  const path = write("m.js", `
/**
 * Counts.
 * @param {object} opts
 * @param {number} opts.times - how many
 */
export function count({ times }) { return times; }
`);
  const [count] = await introspectModule(path);
  assert.equal(count!.options, [{ name: "times", flag: "times", kind: "number", typeText: "number", optional: false, description: "how many" }]);
  assert.is(count!.description, "Counts.");
});

test("kinds", () => {
  assert.is(kindOf("string | undefined"), "string");
  assert.is(kindOf("Array<number>"), "number[]");
  assert.is(kindOf("Service"), "service");
  assert.is(kindOf("Record<string, string>"), "other");
});

test.run();
