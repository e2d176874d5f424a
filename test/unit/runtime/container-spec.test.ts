import { test } from "uvu";
import * as assert from "uvu/assert";
import { Paths } from "../../../src/common/paths.js";
import { HostProcessRunner } from "../../../src/common/process-runner.js";
import { containerSpec, execProcessSpec, INIT_TARGET, parseFileFrames, signalNumber, type StartContainerOptions } from "../../../src/runtime/index.js";

const base: StartContainerOptions = {
  id: "c1",
  image: { name: "busybox", chainId: "sha256:" + "a".repeat(64), config: { Env: ["PATH=/bin", "A=1"], Cmd: ["sh"], WorkingDir: "/w" } },
  paths: new Paths({ state: "/tmp/s", runtime: "/tmp/r" }),
  runner: new HostProcessRunner(),
};

test("containerSpec: image config, overrides, init last", () => {
  const s = containerSpec("ns", { ...base, args: ["echo", "hi"], env: { B: "2" }, hostname: "web", networkNamespace: "/run/netns/x" }, { uid: 1, gid: 2 });
  assert.equal(s.process.args, [INIT_TARGET, "--", "echo", "hi"]);
  assert.equal(s.process.env, ["PATH=/bin", "A=1", "B=2"]);
  assert.is(s.process.cwd, "/w");
  assert.equal(s.process.user, { uid: 1, gid: 2 });
  assert.is(s.hostname, "web");
  assert.equal(s.linux.namespaces.find((n) => n.type === "network"), { type: "network", path: "/run/netns/x" });
  assert.is(s.linux.cgroupsPath, "/ns/c1");
});

test("containerSpec: no init, rootless, no command", () => {
  const s = containerSpec("ns", { ...base, init: false, rootless: true }, { uid: 0, gid: 0 });
  assert.equal(s.process.args, ["sh"]);
  assert.is(s.linux.cgroupsPath, undefined);
  const noCmd = { ...base, image: { ...base.image, config: {} } };
  assert.throws(() => containerSpec("ns", noCmd, { uid: 0, gid: 0 }), /no command/);
});

test("execProcessSpec starts from the task's process", () => {
  const s = containerSpec("ns", { ...base, env: { B: "2" } }, { uid: 0, gid: 0 });
  const p = execProcessSpec(s, ["ls"], { env: { C: "3" }, cwd: "/tmp", user: { uid: 5, gid: 6 } });
  assert.equal(p.args, ["ls"]);
  assert.equal(p.env, ["PATH=/bin", "A=1", "B=2", "C=3"]);
  assert.is(p.cwd, "/tmp");
  assert.equal(p.user, { uid: 5, gid: 6 });
  assert.is(p.terminal, false);
  assert.equal(p.capabilities, s.process.capabilities);
  assert.equal(s.process.args[0], INIT_TARGET); // the task's spec is untouched
});

test("signalNumber", () => {
  assert.is(signalNumber("SIGTERM"), 15);
  assert.is(signalNumber("SIGKILL"), 9);
  assert.is(signalNumber(10), 10);
  assert.throws(() => signalNumber("SIGNOPE" as NodeJS.Signals));
  assert.throws(() => signalNumber(0));
});

test("parseFileFrames", () => {
  const out = Buffer.concat([Buffer.from("3\nabc-1\n0\n4\n"), Buffer.from([0, 10, 255, 1])]);
  const [a, b, c, d] = parseFileFrames(out, 4);
  assert.is(a?.toString(), "abc");
  assert.is(b, undefined);
  assert.is(c?.length, 0);
  assert.equal([...d!], [0, 10, 255, 1]);
  assert.throws(() => parseFileFrames(Buffer.from("5\nabc"), 1), /malformed/);
  assert.throws(() => parseFileFrames(Buffer.from("1\nab"), 1), /trailing/);
  assert.throws(() => parseFileFrames(Buffer.from(""), 1), /early/);
});

test.run();
