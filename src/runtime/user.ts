// Turning an image's `User` ("nobody", "1000", "1000:1000", "user:group") into numeric ids, with runc's rules
// (libcontainer/user GetExecUser): names come from the image's /etc/passwd and /etc/group; an explicit group
// replaces the primary group and adds no supplementary groups; otherwise the user's supplementary groups are
// those that list it as a member. Pure: the files are read elsewhere (snapshot-file.ts).
import { InvalidArgumentError, NotFoundError } from "../common/errors.js";
import type { SpecUser } from "./spec.js";

/** One /etc/passwd entry. */
export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** One /etc/group entry. */
export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** A `User` string split into its user and optional group parts. */
export interface UserSpec {
  user: string;
  group?: string;
}

const MAX_ID = 0xffffffff;
const NUMERIC = /^[0-9]+$/;

function parseId(text: string | undefined): number | undefined {
  if (text === undefined || !NUMERIC.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_ID ? n : undefined;
}

/** Parses /etc/passwd; malformed lines and comments are skipped, as libc does. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith("#")) continue;
    const f = trimmed.split(":");
    const uid = parseId(f[2]);
    const gid = parseId(f[3]);
    if (!f[0] || uid === undefined || gid === undefined) continue;
    out.push({ name: f[0], uid, gid, home: f[5] ?? "", shell: f[6] ?? "" });
  }
  return out;
}

/** Parses /etc/group; malformed lines and comments are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith("#")) continue;
    const f = trimmed.split(":");
    const gid = parseId(f[2]);
    if (!f[0] || gid === undefined) continue;
    out.push({ name: f[0], gid, members: (f[3] ?? "").split(",").map((m) => m.trim()).filter(Boolean) });
  }
  return out;
}

/** Splits "user[:group]"; rejects empty parts and characters no passwd name holds. */
export function parseUserSpec(value: string): UserSpec {
  if (typeof value !== "string" || !/^[^:\s\0]+(:[^:\s\0]+)?$/.test(value)) {
    throw new InvalidArgumentError(`invalid user ${JSON.stringify(value)}: expected user, uid, user:group or uid:gid`);
  }
  const [user, group] = value.split(":") as [string, string | undefined];
  for (const part of [user, group]) {
    if (part !== undefined && NUMERIC.test(part) && parseId(part) === undefined) {
      throw new InvalidArgumentError(`user or group id ${part} is out of range`);
    }
  }
  return group === undefined ? { user } : { user, group };
}

/** True when ids follow from the string alone ("uid:gid"), so no file needs reading. Empty means root. */
export function isNumericUser(value: string): boolean {
  if (value === "") return true;
  const spec = parseUserSpec(value);
  return NUMERIC.test(spec.user) && spec.group !== undefined && NUMERIC.test(spec.group);
}

/**
 * Resolves a `User` against the image's user database (undefined: the file does not exist). Numeric ids not in the
 * database are used as they are (primary group 0 when unknown); unknown names are NotFoundError.
 */
export function resolveUser(value: string, passwd: readonly PasswdEntry[] = [], groups: readonly GroupEntry[] = []): SpecUser {
  if (value === "") return { uid: 0, gid: 0 };
  const spec = parseUserSpec(value);
  const numericUid = parseId(spec.user);
  const entry = numericUid !== undefined ? passwd.find((p) => p.uid === numericUid) : passwd.find((p) => p.name === spec.user);
  if (!entry && numericUid === undefined) throw new NotFoundError(`user ${JSON.stringify(spec.user)} not found in the image's /etc/passwd`);
  const uid = entry?.uid ?? (numericUid as number);
  let gid = entry?.gid ?? 0;
  if (spec.group !== undefined) {
    const numericGid = parseId(spec.group);
    const group = groups.find((g) => (numericGid !== undefined ? g.gid === numericGid : g.name === spec.group));
    if (!group && numericGid === undefined) throw new NotFoundError(`group ${JSON.stringify(spec.group)} not found in the image's /etc/group`);
    gid = group?.gid ?? (numericGid as number);
    return { uid, gid };
  }
  const additional: number[] = [];
  if (entry) {
    for (const g of groups) if (g.members.includes(entry.name) && g.gid !== gid && !additional.includes(g.gid)) additional.push(g.gid);
  }
  return additional.length ? { uid, gid, additionalGids: additional } : { uid, gid };
}
