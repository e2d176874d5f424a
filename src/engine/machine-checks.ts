// What this machine has of what svcd needs, each check with the exact fix when it fails (`svc doctor`): containerd,
// runc, the CNI plugins, nftables and slirp4netns; for a user, the rootless prerequisites (user namespaces,
// sub-ids, rootlesskit, newuidmap) and /dev/net/tun; whether an engine's containerd runs. The daemon is checked by
// the caller (it is a client's question). Nothing is started or changed.
import { constants, accessSync } from "node:fs";
import { userInfo } from "node:os";
import { Paths } from "../common/paths.js";
import { locateCniPlugins } from "../network/index.js";
import { findOnPath, rootlessPrerequisiteProblems, runningContainerdAddresses } from "../rootless/index.js";

export interface MachineCheck {
  name: string;
  ok: boolean;
  /** What was found, or what is wrong. */
  detail: string;
  /** The exact fix, for a failed check. */
  fix?: string;
}

const pass = (name: string, detail: string): MachineCheck => ({ name, ok: true, detail });
const fail = (name: string, detail: string, fix: string): MachineCheck => ({ name, ok: false, detail, fix });

function binary(name: string, file: string, pkg: string, env: NodeJS.ProcessEnv): MachineCheck {
  const found = findOnPath(file, env);
  return found ? pass(name, found) : fail(name, `${file} is not installed (not in PATH)`, `apt-get install ${pkg}`);
}

/** Splits "cause: fix" messages of the prerequisites into the two parts doctor prints. */
function fromProblem(name: string, message: string): MachineCheck {
  const i = message.lastIndexOf(": ");
  return i > 0 ? fail(name, message.slice(0, i), message.slice(i + 2)) : fail(name, message, "see the message");
}

export async function machineChecks(env: NodeJS.ProcessEnv = process.env, uid: number = process.getuid?.() ?? 0): Promise<MachineCheck[]> {
  const checks: MachineCheck[] = [
    binary("containerd", "containerd", "containerd", env),
    binary("runc", "runc", "runc", env),
    binary("nftables", "nft", "nftables", env),
  ];
  try {
    checks.push(pass("CNI plugins", locateCniPlugins(env)));
  } catch (err) {
    checks.push(fromProblem("CNI plugins", (err as Error).message));
  }
  if (uid === 0) {
    checks.push(pass("rootless", "running as root: the rootful engine (rootless checks are for other users)"));
  } else {
    const problems = rootlessPrerequisiteProblems({ uid, env });
    if (problems.length === 0) checks.push(pass("rootless", `user namespaces, sub-ids, rootlesskit and newuidmap ready for ${userInfo().username}`));
    for (const p of problems) checks.push(fromProblem("rootless", p.message));
    checks.push(binary("slirp4netns", "slirp4netns", "slirp4netns", env));
    try {
      accessSync("/dev/net/tun", constants.R_OK | constants.W_OK);
      checks.push(pass("/dev/net/tun", "readable and writable (egress for rootless services)"));
    } catch (err) {
      checks.push(fail("/dev/net/tun", `not accessible to you (${(err as NodeJS.ErrnoException).code}): rootless services get no egress`, "as root: chmod 0666 /dev/net/tun (the mode Debian's udev rule gives it)"));
    }
  }
  const running = await runningContainerdAddresses({ paths: Paths.fromEnv(env, uid === 0 ? undefined : uid), env, root: uid === 0 });
  checks.push(pass("engine", running.length > 0 ? `containerd answers at ${running.join(", ")}` : "no engine's containerd runs now (the first connect() starts one)"));
  return checks;
}
