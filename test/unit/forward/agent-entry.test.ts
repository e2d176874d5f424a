// The agent entry point sits next to the module that starts it, with tsx's loader only for TypeScript sources.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync } from "node:fs";
import { agentEntry } from "../../../src/forward/agent-entry.js";

test("from src (.ts): agent-main.ts with an absolute --import of tsx", () => {
  const entry = agentEntry();
  assert.ok(entry.file.endsWith("/src/forward/agent-main.ts"), entry.file);
  assert.ok(existsSync(entry.file));
  assert.is(entry.nodeArgs[0], "--import");
  assert.match(entry.nodeArgs[1]!, /^file:\/\/.*\/tsx\//);
  assert.is(entry.nodeArgs[2], entry.file);
});

test("from dist (.js): agent-main.js, no loader", () => {
  assert.equal(agentEntry("file:///opt/svcd/dist/forward/agent-process.js"), {
    file: "/opt/svcd/dist/forward/agent-main.js",
    nodeArgs: ["/opt/svcd/dist/forward/agent-main.js"],
  });
});

test.run();
