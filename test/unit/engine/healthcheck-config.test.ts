// An image's HEALTHCHECK as Docker writes it into the image config (Test forms, nanosecond durations, 0 = default),
// parsed by the image layer and carried into the plan, where withHealthcheck replaces it and withoutHealthcheck
// drops it; only what the definition chose enters the container's digest.
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { ContainerDef } from "../../../src/definition/index.js";
import { parseImageConfig } from "../../../src/image/image-config.js";
import { DOCKER_HEALTHCHECK_DEFAULTS, HEALTHCHECK_DEFAULTS, imageHealthcheck } from "../../../src/engine/healthcheck-config.js";
import { makePlan } from "../../../src/engine/plan.js";

const DIFF_ID = `sha256:${"a".repeat(64)}`;
const S = 1_000_000_000; // one second in nanoseconds, Docker's unit

/** A config blob as `docker build` writes it, with `Healthcheck` under `config`. */
function blob(healthcheck: unknown): Buffer {
  return Buffer.from(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: { Cmd: ["sh"], Healthcheck: healthcheck },
    rootfs: { type: "layers", diff_ids: [DIFF_ID] },
  }));
}

const parsed = (healthcheck: unknown) => parseImageConfig(blob(healthcheck), "test").config.Healthcheck;

test("the config's Healthcheck is kept as Docker wrote it; wrong types are dropped", () => {
  assert.equal(parsed({ Test: ["CMD-SHELL", "pg_isready"], Interval: 2 * S, Timeout: 3 * S, StartPeriod: 10 * S, StartInterval: S / 2, Retries: 5 }), {
    Test: ["CMD-SHELL", "pg_isready"],
    Interval: 2 * S,
    Timeout: 3 * S,
    StartPeriod: 10 * S,
    StartInterval: S / 2,
    Retries: 5,
  });
  assert.equal(parsed({ Test: ["NONE"] }), { Test: ["NONE"] });
  assert.equal(parsed({ Test: ["CMD", "true"], Interval: "2s", Retries: -1, Timeout: 1.5 }), { Test: ["CMD", "true"] });
  assert.is(parsed({ Test: "CMD true" }), undefined);
  assert.is(parsed(null), undefined);
  assert.is(parsed(undefined), undefined);
  assert.is(parseImageConfig(Buffer.from(JSON.stringify({ config: {}, rootfs: { diff_ids: [DIFF_ID] } })), "x").config.Healthcheck, undefined);
});

test("CMD runs its arguments, CMD-SHELL runs under /bin/sh -c; nanoseconds become milliseconds", () => {
  assert.equal(imageHealthcheck({ Test: ["CMD", "wget", "-q", "http://localhost/"], Interval: 2 * S, Timeout: 3 * S, StartPeriod: 10 * S, StartInterval: S / 2, Retries: 5 }), {
    args: ["wget", "-q", "http://localhost/"],
    intervalMs: 2000,
    startIntervalMs: 500,
    timeoutMs: 3000,
    retries: 5,
    startPeriodMs: 10_000,
  });
  assert.equal(imageHealthcheck({ Test: ["CMD-SHELL", "pg_isready -U postgres || exit 1"] })?.args, ["/bin/sh", "-c", "pg_isready -U postgres || exit 1"]);
});

test("0 or absent timings take Docker's defaults", () => {
  const d = DOCKER_HEALTHCHECK_DEFAULTS;
  assert.equal(imageHealthcheck({ Test: ["CMD", "true"], Interval: 0, Timeout: 0, StartPeriod: 0, Retries: 0 }), {
    args: ["true"],
    intervalMs: d.intervalMs,
    startIntervalMs: d.startIntervalMs,
    timeoutMs: d.timeoutMs,
    retries: d.retries,
    startPeriodMs: 0,
  });
  // A sub-millisecond duration is still a positive one.
  assert.is(imageHealthcheck({ Test: ["CMD", "true"], Interval: 10 })?.intervalMs, 1);
});

test("NONE, an empty Test, a bare CMD or an unknown form: no healthcheck", () => {
  for (const Test of [["NONE"], [], ["CMD"], ["CMD-SHELL"], ["CMD-SHELL", "  "], ["SHELL", "true"], ["CMD", ""]]) {
    assert.is(imageHealthcheck({ Test }), undefined, JSON.stringify(Test));
  }
  assert.is(imageHealthcheck(undefined), undefined);
});

test("the plan honours the image's HEALTHCHECK; withHealthcheck replaces it, withoutHealthcheck drops it", () => {
  const image = parseImageConfig(blob({ Test: ["CMD", "check"], Interval: 2 * S, Retries: 4 }), "test").config;
  const plan = (...ops: ContainerDef["ops"]) => makePlan({ ops: [{ op: "from", ref: "x" }, ...ops] }, image);

  const inherited = plan();
  assert.equal(inherited.healthcheck?.args, ["check"]);
  assert.is(inherited.healthcheck?.intervalMs, 2000);
  assert.is(inherited.healthcheck?.retries, 4);
  assert.is("healthcheckOverride" in inherited, false, "the image's own check does not enter the digest");

  const replaced = plan({ op: "healthcheck", args: ["sh", "-c", "mine"], retries: 2 });
  assert.equal(replaced.healthcheck, { args: ["sh", "-c", "mine"], ...HEALTHCHECK_DEFAULTS, startIntervalMs: HEALTHCHECK_DEFAULTS.intervalMs, retries: 2 });
  assert.equal(replaced.healthcheckOverride, replaced.healthcheck);

  const dropped = plan({ op: "unsetHealthcheck" });
  assert.is(dropped.healthcheck, undefined);
  assert.is(dropped.healthcheckOverride, "none");

  // The last op wins; a later from() starts over from the (new) image.
  assert.is(plan({ op: "unsetHealthcheck" }, { op: "healthcheck", args: ["again"] }).healthcheck?.args[0], "again");
  assert.is(plan({ op: "healthcheck", args: ["a"] }, { op: "unsetHealthcheck" }).healthcheck, undefined);
  const restarted = plan({ op: "unsetHealthcheck" }, { op: "from", ref: "y" });
  assert.equal(restarted.healthcheck?.args, ["check"]);
  assert.is("healthcheckOverride" in restarted, false);

  // Healthchecks are not part of any step's config: build steps' chain keys do not move.
  const withExec = plan({ op: "healthcheck", args: ["x"] }, { op: "exec", args: ["true"], useEntrypoint: false, expect: "SUCCESS" });
  const without = plan({ op: "exec", args: ["true"], useEntrypoint: false, expect: "SUCCESS" });
  assert.equal(withExec.steps, without.steps);
  assert.equal(withExec.config, without.config);
});

test("an image without HEALTHCHECK plans none", () => {
  const plan = makePlan({ ops: [{ op: "from", ref: "x" }] }, { Cmd: ["sh"] });
  assert.is(plan.healthcheck, undefined);
  assert.is("healthcheck" in plan, false);
});

test.run();
