// What a rootless engine needs from the machine, checked before anything is started, each failure an
// EngineUnavailableError that names the fix: subordinate uid/gid ranges for the user, setuid newuidmap/newgidmap,
// rootlesskit, nsenter/unshare, and unprivileged user namespaces. Egress's /dev/net/tun is not a prerequisite: without
// it the engine runs and says why egress is off (SVCD_EGRESS_OFF, network/hub).
import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { userInfo } from "node:os";
import { delimiter, join } from "node:path";
import { EngineUnavailableError } from "../common/errors.js";

/** Smallest sub-id range accepted: images use ids up to 65534 (nobody), which must map to something. */
export const MIN_SUBID_COUNT = 65536;

export interface PrerequisiteOptions {
  uid: number;
  /** The user's login name (default: from the password database). */
  user?: string;
  env?: NodeJS.ProcessEnv;
  /** Root of the files read (tests point it at a fixture tree). Default "/". */
  root?: string;
}

export interface SubIdRange {
  start: number;
  count: number;
}

/** The ranges /etc/subuid (or subgid) text grants the user, by name or by uid. */
export function subIdRanges(text: string, user: string, uid: number): SubIdRange[] {
  const ranges: SubIdRange[] = [];
  for (const line of text.split("\n")) {
    const [who, start, count] = line.trim().split(":");
    if (who !== user && who !== String(uid)) continue;
    const s = Number(start);
    const c = Number(count);
    if (Number.isSafeInteger(s) && s >= 0 && Number.isSafeInteger(c) && c > 0) ranges.push({ start: s, count: c });
  }
  return ranges;
}

/** The first executable named `file` on PATH, or undefined. */
export function findOnPath(file: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, file);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return fallback;
  }
}

/** Throws the first unmet prerequisite as an EngineUnavailableError naming its fix. */
export function checkRootlessPrerequisites(opts: PrerequisiteOptions): void {
  const [first] = rootlessPrerequisiteProblems(opts);
  if (first) throw first;
}

/** Every unmet prerequisite, each an EngineUnavailableError naming its fix (svc doctor lists them all). */
export function rootlessPrerequisiteProblems(opts: PrerequisiteOptions): EngineUnavailableError[] {
  const problems: EngineUnavailableError[] = [];
  const root = opts.root ?? "/";
  const env = opts.env ?? process.env;
  const user = opts.user ?? userInfo().username;
  const who = `user ${user} (uid ${opts.uid})`;

  const maxUserNs = readOr(join(root, "proc/sys/user/max_user_namespaces"), "1").trim();
  if (maxUserNs === "0") {
    problems.push(new EngineUnavailableError(`unprivileged user namespaces are disabled (user.max_user_namespaces = 0): as root, run "sysctl -w user.max_user_namespaces=63859" (and persist it in /etc/sysctl.d) to use svcd rootless, or run svcd as root`));
  }
  const clone = readOr(join(root, "proc/sys/kernel/unprivileged_userns_clone"), "1").trim();
  if (clone === "0") {
    problems.push(new EngineUnavailableError(`unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0): as root, run "sysctl -w kernel.unprivileged_userns_clone=1" (and persist it in /etc/sysctl.d) to use svcd rootless, or run svcd as root`));
  }
  const apparmor = readOr(join(root, "proc/sys/kernel/apparmor_restrict_unprivileged_userns"), "0").trim();
  if (apparmor === "1") {
    problems.push(new EngineUnavailableError(`AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1): as root, add an AppArmor profile granting "userns" to rootlesskit, or set the sysctl to 0`));
  }

  for (const [file, kind] of [["subuid", "uid"], ["subgid", "gid"]] as const) {
    const ranges = subIdRanges(readOr(join(root, "etc", file), ""), user, opts.uid);
    const total = ranges.reduce((n, r) => n + r.count, 0);
    if (total < MIN_SUBID_COUNT) {
      const have = ranges.length === 0 ? "has no subordinate " + kind + " range" : `has only ${total} subordinate ${kind}s`;
      problems.push(new EngineUnavailableError(
        `${who} ${have} in /etc/${file} (rootless containers map their ${kind}s into it; at least ${MIN_SUBID_COUNT} are needed): ` +
          `as root, run "usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user}" with a range no other user has, or run svcd as root`,
      ));
    }
  }

  const install: Record<string, string> = {
    newuidmap: "uidmap",
    newgidmap: "uidmap",
    rootlesskit: "rootlesskit",
    nsenter: "util-linux",
    unshare: "util-linux",
  };
  for (const [file, pkg] of Object.entries(install)) {
    const found = findOnPath(file, env);
    if (!found) {
      problems.push(new EngineUnavailableError(`${file} is not installed (not found in PATH), and rootless mode needs it: apt-get install ${pkg}`));
      continue;
    }
    if ((file === "newuidmap" || file === "newgidmap") && !setuidOrCapable(found)) {
      problems.push(new EngineUnavailableError(`${found} is neither setuid root nor owned by root, so it cannot write the user's uid map: reinstall it (apt-get install --reinstall uidmap)`));
    }
  }
  return problems;
}

/** newuidmap works setuid root, or root-owned with file capabilities (which fs.stat cannot see: accepted). */
function setuidOrCapable(path: string): boolean {
  const st = statSync(path);
  return st.uid === 0;
}
