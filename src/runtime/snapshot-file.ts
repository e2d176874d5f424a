// Reading files from a snapshot without mounting it on the host: a short task in a throw-away snapshot on top of
// it, with Debian's static busybox bind-mounted read-only under /dev (so images need no shell or cat, and the
// snapshot gains nothing), prints each file framed by its length. Used for /etc/passwd + /etc/group (user names)
// and by the Container API's `file(path).contents()`.
import { randomBytes } from "node:crypto";
import { InternalError, InvalidArgumentError, NotFoundError } from "../common/errors.js";
import type { Owner } from "../common/owner.js";
import type { Paths } from "../common/paths.js";
import type { ProcessRunner } from "../common/process-runner.js";
import type { RuntimeClient } from "./containerd-port.js";
import { runContainer } from "./container.js";
import type { SpecUser } from "./spec.js";
import { BUSYBOX_TARGET, DEFAULT_BUSYBOX_SOURCE, withStaticHelper } from "./spec-opts.js";
import { isNumericUser, parseGroup, parsePasswd, resolveUser } from "./user.js";

/**
 * For each path argument: a line with its size in bytes (or -1 when it is not a readable regular file), then its
 * bytes. `$0` is busybox itself, so no applet has to be on the image's PATH. Paths arrive as arguments, never as code.
 */
const READ_SCRIPT =
  'bb="$0"; for f in "$@"; do if [ -f "$f" ] && [ -r "$f" ]; then n=$("$bb" wc -c < "$f") || exit 2; echo $n; "$bb" cat -- "$f" || exit 2; else echo -1; fi; done';

/** Where to read from and how to run the helper task. */
export interface SnapshotReadOptions {
  /** The committed snapshot (a chainId or a committed build step) to read. */
  parent: string;
  snapshotter: string;
  paths: Paths;
  runner: ProcessRunner;
  /** The static busybox on the host (default Debian's /bin/busybox from busybox-static). */
  busybox?: string;
  owner?: Owner | undefined;
  signal?: AbortSignal | undefined;
}

/** Splits the helper's output into one entry per requested path (undefined: missing or not a regular file). */
export function parseFileFrames(output: Buffer, count: number): (Buffer | undefined)[] {
  const out: (Buffer | undefined)[] = [];
  let pos = 0;
  for (let i = 0; i < count; i++) {
    const nl = output.indexOf(0x0a, pos);
    if (nl < 0) throw new InternalError("file reader output ended early");
    const size = Number(output.subarray(pos, nl).toString("ascii").trim());
    pos = nl + 1;
    if (size === -1) {
      out.push(undefined);
      continue;
    }
    if (!Number.isSafeInteger(size) || size < 0 || pos + size > output.length) throw new InternalError("file reader output is malformed");
    out.push(output.subarray(pos, pos + size));
    pos += size;
  }
  if (pos !== output.length) throw new InternalError("file reader output has trailing bytes");
  return out;
}

/** Reads absolute `files` from the snapshot in one short task; a missing file maps to undefined. */
export async function readSnapshotFiles(client: RuntimeClient, files: readonly string[], opts: SnapshotReadOptions): Promise<(Buffer | undefined)[]> {
  for (const f of files) {
    if (typeof f !== "string" || !f.startsWith("/") || f.includes("\0")) throw new InvalidArgumentError(`file path must be absolute: ${JSON.stringify(f)}`);
  }
  if (files.length === 0) return [];
  const result = await runContainer(client, {
    id: `svcd-read-${randomBytes(8).toString("hex")}`,
    image: { name: "", chainId: opts.parent, snapshotter: opts.snapshotter },
    args: [BUSYBOX_TARGET, "sh", "-c", READ_SCRIPT, BUSYBOX_TARGET, ...files],
    user: { uid: 0, gid: 0 },
    init: false,
    specOpts: [withStaticHelper(opts.busybox ?? DEFAULT_BUSYBOX_SOURCE, BUSYBOX_TARGET)],
    maxOutputBytes: Number.MAX_SAFE_INTEGER,
    paths: opts.paths,
    runner: opts.runner,
    ...(opts.owner ? { owner: opts.owner } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (result.exitCode !== 0) {
    throw new InternalError(`reading ${files.join(", ")} failed (exit ${result.exitCode}): ${result.stderr.toString().trim()}`);
  }
  return parseFileFrames(result.stdout, files.length);
}

/** Reads one file from the snapshot; NotFoundError when it is missing or not a regular file. */
export async function readSnapshotFile(client: RuntimeClient, file: string, opts: SnapshotReadOptions): Promise<Buffer> {
  const [contents] = await readSnapshotFiles(client, [file], opts);
  if (contents === undefined) throw new NotFoundError(`${file}: no such file in the container`);
  return contents;
}

/** Numeric ids for an image `User` string; reads /etc/passwd and /etc/group from the snapshot only when needed. */
export async function resolveImageUser(client: RuntimeClient, opts: SnapshotReadOptions & { user: string }): Promise<SpecUser> {
  if (isNumericUser(opts.user)) return resolveUser(opts.user);
  const [passwd, group] = await readSnapshotFiles(client, ["/etc/passwd", "/etc/group"], opts);
  return resolveUser(opts.user, parsePasswd(passwd?.toString("utf8") ?? ""), parseGroup(group?.toString("utf8") ?? ""));
}
