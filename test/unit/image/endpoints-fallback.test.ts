import { test } from "uvu";
import * as assert from "uvu/assert";
import { upstreamFallbackFromEnv } from "../../../src/image/index.js";

test("SVCD_REGISTRY_FALLBACK turns the upstream fallback off", () => {
  assert.ok(upstreamFallbackFromEnv({}));
  assert.ok(upstreamFallbackFromEnv({ SVCD_REGISTRY_FALLBACK: "1" }));
  for (const off of ["0", "false", "FALSE", "no", "off"]) assert.not.ok(upstreamFallbackFromEnv({ SVCD_REGISTRY_FALLBACK: off }), off);
});

test.run();
