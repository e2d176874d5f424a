// Confinement defaults end to end (issue 8, item 2): what a default container may not do, and what
// `insecureRootCapabilities` gives back, for build steps and for services. Real containerd and runc.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { type Client, type Container } from "../../../src/index.js";
import { connect } from "../../rig/connect.js";
import { DEFAULT_CAPABILITIES, capabilityMask, hostRootCapabilities } from "../../../src/runtime/index.js";
import { rootless } from "../../rig/engine.js";

/** The full root set on this machine (a sandbox may lack a capability or two, e.g. CAP_SYS_RESOURCE). */
const ROOT_MASK = capabilityMask(hostRootCapabilities());
/**
 * What the probes give with insecureRootCapabilities: all of them as root. In the rootless pass the container's root is
 * the user namespace's, whose full capability set still may mount a tmpfs and unshare -U, but the kernel refuses a
 * device node to any user namespace but the initial one, so mknod is denied even then.
 */
const LIFTED_PROBES = rootless
  ? { mknod: "denied mknod: /tmp/dev: Operation not permitted", mount: "ok", unshare: "ok" }
  : { mknod: "ok", mount: "ok", unshare: "ok" };

const test = suite<{ client: Client }>("confinement");
const unique = () => `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
const busybox = (c: Client) => c.container().from("busybox").withEnvVariable("BUST", unique());
const python = (c: Client) => c.container().from("python").withEnvVariable("BUST", unique());

/** Prints `name: ok` or `name: denied (<exit>)` for each shell probe; never fails itself. */
const PROBES = [
  ["mknod", "mknod /tmp/dev c 1 3"],
  ["mount", "mkdir -p /tmp/m && mount -t tmpfs none /tmp/m"],
  ["unshare", "unshare -U true"],
].map(([name, cmd]) => `if ${cmd} 2>/tmp/err; then echo "${name}: ok"; else echo "${name}: denied $(cat /tmp/err)"; fi`).join("; ");
const STATUS = "grep -E '^(CapEff|Seccomp|NoNewPrivs):' /proc/self/status; echo kcore: $(head -c 16 /proc/kcore | wc -c)";

/** Opens an ICMP raw socket and pings 127.0.0.1 through an ICMP datagram socket; prints both outcomes. */
const SOCKETS = `
import errno, socket
try:
    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
    print("raw: ok")
except OSError as e:
    print("raw:", errno.errorcode[e.errno])
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    s.settimeout(10)
    s.sendto(b"\\x08\\x00\\x00\\x00\\x00\\x00\\x00\\x01svcd", ("127.0.0.1", 0))
    print("ping: type", s.recv(64)[0])
except OSError as e:
    print("ping:", errno.errorcode.get(e.errno, e))
`;

/** Raw x86_64 syscalls the filter answers for, and the libc paths that must survive clone3 → ENOSYS. */
const SYSCALLS = `
import ctypes, errno, subprocess, threading
libc = ctypes.CDLL(None, use_errno=True)
def call(name, nr, *args):
    ctypes.set_errno(0)
    r = libc.syscall(nr, *args)
    print(name + ":", "ok" if r >= 0 else errno.errorcode[ctypes.get_errno()])
call("keyctl", 250, 0, -3, 0)  # KEYCTL_GET_KEYRING_ID of the session keyring
call("clone3", 435, None, 0)  # the kernel says EINVAL (no args); the filter says ENOSYS
t = threading.Thread(target=lambda: None); t.start(); t.join()
print("thread: ok")
print("subprocess:", subprocess.run(["true"]).returncode)
`;

function fields(out: string): Record<string, string> {
  return Object.fromEntries(out.trim().split("\n").map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]));
}

test.before(async (ctx) => {
  ctx.client = await connect({ namespace: "svcd-test", sessionId: `confinement-${process.pid}`, serviceGracePeriodMs: 300 });
});
test.after(async (ctx) => {
  await ctx.client.close();
});

test("a default exec has podman's capabilities, a seccomp filter, noNewPrivileges and no /proc/kcore", async ({ client }) => {
  const got = fields(await busybox(client).withExec(["sh", "-c", STATUS]).stdout());
  assert.equal(got, { CapEff: capabilityMask(DEFAULT_CAPABILITIES), Seccomp: "2", NoNewPrivs: "1", kcore: "0" });
});

test("a default exec cannot mknod, mount or unshare -U", async ({ client }) => {
  const got = fields(await busybox(client).withExec(["sh", "-c", PROBES]).stdout());
  for (const probe of ["mknod", "mount", "unshare"]) assert.match(got[probe]!, /^denied .*(Operation not permitted|permission denied)/, probe);
});

test("a default exec cannot open a raw socket but can ping through an ICMP datagram socket", async ({ client }) => {
  const got = fields(await python(client).withExec(["python", "-c", SOCKETS]).stdout());
  assert.equal(got, { raw: "EPERM", ping: "type 0" });
});

test("the seccomp filter refuses keyctl and answers clone3 with ENOSYS; threads and subprocesses still start", async ({ client }) => {
  const got = fields(await python(client).withExec(["python", "-c", SYSCALLS]).stdout());
  assert.equal(got, { keyctl: "EPERM", clone3: "ENOSYS", thread: "ok", subprocess: "0" });
  const lifted = fields(await python(client).withExec(["python", "-c", SYSCALLS], { insecureRootCapabilities: true }).stdout());
  assert.equal(lifted, { keyctl: "ok", clone3: "EINVAL", thread: "ok", subprocess: "0" });
});

test("with insecureRootCapabilities an exec has every capability, no filter, and may mount, unshare -U (mknod as real root only)", async ({ client }) => {
  const opts = { insecureRootCapabilities: true };
  const status = fields(await busybox(client).withExec(["sh", "-c", STATUS], opts).stdout());
  assert.equal(status, { CapEff: ROOT_MASK, Seccomp: "0", NoNewPrivs: "0", kcore: "0" });
  const probes = fields(await busybox(client).withExec(["sh", "-c", PROBES], opts).stdout());
  assert.equal(probes, LIFTED_PROBES);
  const sockets = fields(await python(client).withExec(["python", "-c", SOCKETS], opts).stdout());
  assert.equal(sockets, { raw: "ok", ping: "type 0" });
});

test("the flag is part of the digest; false is the same definition as absent", async ({ client }) => {
  const c = client.container().from("busybox");
  const plain = await c.withExec(["true"]).digest();
  assert.is(await c.withExec(["true"], { insecureRootCapabilities: false }).digest(), plain);
  assert.is.not(await c.withExec(["true"], { insecureRootCapabilities: true }).digest(), plain);
  const svc = c.withExposedPort(8080);
  const name = await svc.asService().hostname();
  assert.is(await svc.asService({ insecureRootCapabilities: false }).hostname(), name);
  assert.is.not(await svc.asService({ insecureRootCapabilities: true }).hostname(), name);
});

/** A busybox httpd that first writes its own status and probe results to /www/index.html. */
function probingService(c: Client): Container {
  return busybox(c).withExposedPort(8080).withEntrypoint(["sh", "-c", `mkdir -p /www; { ${STATUS}; ${PROBES}; } > /www/index.html; exec httpd -f -p 8080 -h /www`]);
}

test("a service is confined by default and lifted with insecureRootCapabilities", async ({ client }) => {
  const read = (svc: ReturnType<Container["asService"]>) =>
    busybox(client).withServiceBinding("svc", svc).withExec(["wget", "-qO-", "http://svc:8080/"]).stdout().then(fields);
  const confined = await read(probingService(client).asService());
  assert.equal(
    { CapEff: confined.CapEff, Seccomp: confined.Seccomp, NoNewPrivs: confined.NoNewPrivs, kcore: confined.kcore },
    { CapEff: capabilityMask(DEFAULT_CAPABILITIES), Seccomp: "2", NoNewPrivs: "1", kcore: "0" },
  );
  for (const probe of ["mknod", "mount", "unshare"]) assert.match(confined[probe]!, /^denied /, probe);
  const lifted = await read(probingService(client).asService({ insecureRootCapabilities: true }));
  assert.equal(lifted, { CapEff: ROOT_MASK, Seccomp: "0", NoNewPrivs: "0", kcore: "0", ...LIFTED_PROBES });
});

test("helper tasks work under the defaults: user lookup, file().contents(), the init", async ({ client }) => {
  const c = busybox(client).withUser("nobody").withExec(["sh", "-c", "id -u; cat /proc/1/cmdline | tr '\\0' ' '"]);
  const out = await c.stdout();
  assert.match(out, /^65534\n\/dev\/\.svcd\/init -- sh -c /);
  assert.match(await c.file("/etc/passwd").contents(), /^root:/);
});

test.run();
