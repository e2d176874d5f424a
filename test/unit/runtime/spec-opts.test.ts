import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  buildSpec,
  compose,
  INIT_TARGET,
  BUSYBOX_TARGET,
  withArgs,
  withCwd,
  withEnv,
  withHostname,
  withHostsFile,
  withImageConfig,
  withInit,
  withMounts,
  withNetworkNamespace,
  withResolvConf,
  withRootless,
  withStaticHelper,
  withUser,
  bindMount,
} from "../../../src/runtime/spec-opts.js";
import { DEFAULT_CAPABILITIES, DEFAULT_PATH_ENV } from "../../../src/runtime/spec.js";

const id = { namespace: "ns1", id: "c1" };

test("defaults follow containerd's populateDefaultUnixSpec", () => {
  const s = buildSpec(id);
  assert.is(s.root.path, "rootfs");
  assert.is(s.process.cwd, "/");
  assert.equal(s.process.env, [DEFAULT_PATH_ENV]);
  assert.equal(s.process.user, { uid: 0, gid: 0 });
  assert.is(s.process.noNewPrivileges, true);
  assert.equal(s.process.rlimits, [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }]);
  assert.equal(s.process.capabilities?.bounding, [...DEFAULT_CAPABILITIES]);
  assert.equal(s.process.capabilities?.effective, [...DEFAULT_CAPABILITIES]);
  assert.is(s.process.capabilities?.inheritable, undefined);
  assert.equal(s.linux.namespaces.map((n) => n.type), ["pid", "ipc", "uts", "mount", "network"]);
  assert.equal(s.mounts.map((m) => m.destination), ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/run"]);
  assert.ok(s.linux.maskedPaths?.includes("/proc/kcore"));
  assert.ok(s.linux.readonlyPaths?.includes("/proc/sysrq-trigger"));
  assert.is(s.linux.cgroupsPath, "/ns1/c1");
  assert.equal(s.linux.resources?.devices, [{ allow: false, access: "rwm" }]);
});

test("each spec is fresh", () => {
  const a = buildSpec(id);
  a.mounts.pop();
  a.process.capabilities?.bounding?.pop();
  const b = buildSpec(id);
  assert.is(b.mounts.length, 7);
  assert.is(b.process.capabilities?.bounding?.length, DEFAULT_CAPABILITIES.length);
});

test("withImageConfig: Env, Entrypoint + Cmd, WorkingDir", () => {
  const s = buildSpec(id, withImageConfig({ Env: ["PATH=/x", "A=1"], Entrypoint: ["/bin/sh", "-c"], Cmd: ["echo hi"], WorkingDir: "/srv" }));
  assert.equal(s.process.env, ["PATH=/x", "A=1"]);
  assert.equal(s.process.args, ["/bin/sh", "-c", "echo hi"]);
  assert.is(s.process.cwd, "/srv");
  const empty = buildSpec(id, withImageConfig({ Env: null, Cmd: ["sh"] }));
  assert.equal(empty.process.env, [DEFAULT_PATH_ENV]);
  assert.equal(empty.process.args, ["sh"]);
  assert.is(empty.process.cwd, "/");
});

test("withArgs replaces; withEnv merges by key and removes undefined", () => {
  const s = buildSpec(
    id,
    withImageConfig({ Env: ["PATH=/x", "A=1", "B=2"], Cmd: ["a"] }),
    withArgs(["b", "c"]),
    withEnv({ A: "9", C: "3", B: undefined }),
    withEnv(["D=x=y"]),
  );
  assert.equal(s.process.args, ["b", "c"]);
  assert.equal(s.process.env, ["PATH=/x", "A=9", "C=3", "D=x=y"]);
  assert.throws(() => withEnv({ "A=B": "x" }), /invalid environment/);
  assert.throws(() => withEnv(["NOEQUALS"]), /no "="/);
  assert.throws(() => withArgs(["a\0b"]));
});

test("withCwd needs an absolute path", () => {
  assert.is(buildSpec(id, withCwd("/a/b/../c")).process.cwd, "/a/c");
  assert.throws(() => withCwd("rel"), (e: unknown) => (e as { code: string }).code === "INVALID_ARGUMENT");
});

test("withUser sets numeric ids", () => {
  assert.equal(buildSpec(id, withUser({ uid: 65534, gid: 65534 })).process.user, { uid: 65534, gid: 65534 });
  assert.equal(buildSpec(id, withUser({ uid: 1, gid: 2, additionalGids: [3] })).process.user, { uid: 1, gid: 2, additionalGids: [3] });
  assert.throws(() => withUser({ uid: -1, gid: 0 }));
  assert.throws(() => withUser({ uid: 1.5, gid: 0 }));
});

test("withMounts replaces by destination and appends the rest", () => {
  const s = buildSpec(id, withMounts([bindMount("/host/a", "/data"), { destination: "/run", type: "tmpfs", source: "tmpfs", options: ["size=1m"] }]));
  assert.is(s.mounts.length, 8);
  assert.equal(s.mounts[6], { destination: "/run", type: "tmpfs", source: "tmpfs", options: ["size=1m"] });
  assert.equal(s.mounts[7], { destination: "/data", type: "bind", source: "/host/a", options: ["rbind", "rprivate", "ro"] });
  assert.throws(() => withMounts([{ destination: "rel" }]));
  assert.throws(() => withMounts([{ destination: "/x", type: "bind", source: "rel" }]));
});

test("withNetworkNamespace joins a path or asks for a new one", () => {
  const joined = buildSpec(id, withNetworkNamespace("/run/svcd/netns/x"));
  assert.equal(joined.linux.namespaces.filter((n) => n.type === "network"), [{ type: "network", path: "/run/svcd/netns/x" }]);
  assert.is(joined.linux.namespaces.length, 5);
  const fresh = buildSpec(id, withNetworkNamespace("/a"), withNetworkNamespace());
  assert.equal(fresh.linux.namespaces.filter((n) => n.type === "network"), [{ type: "network" }]);
});

test("hosts, resolv.conf and hostname", () => {
  const s = buildSpec(id, withHostsFile("/run/svcd/hosts/c1/hosts"), withResolvConf("/run/svcd/resolv.conf"), withHostname("web-1"));
  assert.equal(s.mounts.find((m) => m.destination === "/etc/hosts")?.source, "/run/svcd/hosts/c1/hosts");
  assert.equal(s.mounts.find((m) => m.destination === "/etc/resolv.conf")?.type, "bind");
  assert.is(s.hostname, "web-1");
  assert.throws(() => withHostname("bad_name"));
  assert.throws(() => withHostname("-x"));
});

test("withRootless drops cgroupsPath and resources", () => {
  const s = buildSpec(id, withRootless());
  assert.is(s.linux.cgroupsPath, undefined);
  assert.is(s.linux.resources, undefined);
});

test("withInit wraps args and mounts tini read-only under /dev, after the /dev tmpfs", () => {
  const s = buildSpec(id, withArgs(["sh", "-c", "sleep 1"]), withInit());
  assert.equal(s.process.args, [INIT_TARGET, "--", "sh", "-c", "sleep 1"]);
  const devIndex = s.mounts.findIndex((m) => m.destination === "/dev");
  const initIndex = s.mounts.findIndex((m) => m.destination === INIT_TARGET);
  assert.ok(initIndex > devIndex);
  assert.equal(s.mounts[initIndex]?.source, "/usr/bin/tini-static");
  assert.ok(s.mounts[initIndex]?.options?.includes("ro"));
  // applying twice does not wrap twice
  assert.equal(compose(withInit(), withInit())(s), undefined);
  assert.equal(s.process.args.filter((a) => a === INIT_TARGET).length, 1);
  assert.is(s.mounts.filter((m) => m.destination === INIT_TARGET).length, 1);
});

test("withStaticHelper refuses targets outside the helper dir and specs without the /dev tmpfs", () => {
  assert.throws(() => withStaticHelper("/bin/busybox", "/bin/busybox"));
  const s = buildSpec(id);
  s.mounts = s.mounts.filter((m) => m.destination !== "/dev");
  assert.throws(() => withStaticHelper("/bin/busybox", BUSYBOX_TARGET)(s));
});

test("the spec is JSON", () => {
  const s = buildSpec(id, withImageConfig({ Cmd: ["x"] }), withInit());
  assert.equal(JSON.parse(JSON.stringify(s)), s);
});

test.run();
