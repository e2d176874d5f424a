// The per-container hosts store (nerdctl's hostsstore idea, our own code): the files bind-mounted at /etc/hosts,
// /etc/resolv.conf and /etc/hostname, and who owns them.
//
// Layout: <Paths.hostsDir>/<container id>/{hosts, resolv.conf, hostname, meta.json}; meta.json is written first, so
// a directory without it is a crashed create (listed with an empty session, for reaping).
// Lock: rewrites of existing hosts files (setEntries) hold Paths.hostsLock exclusively (flock; several engine
// processes share the store). create needs none — mkdir of the container's own directory is the exclusive step —
// and neither does remove of that directory (an in-place writer of an unlinked file harms nobody). Reads (list)
// take no lock: they tolerate a directory appearing or vanishing.
// Invariants: a hosts file only ever holds names validated as DNS names and addresses validated as IPs — input is
// validated before any byte is written. setEntries rewrites the hosts file IN PLACE (open r+, write, truncate), never
// by rename: the file is bind-mounted into a running container, which would keep seeing the old inode.
// Bounded input: the three files are bind-mounted read-only, but a container with insecureRootCapabilities can
// remount them writable and fill them, so the engine never reads them: a rewrite renders the whole file again from
// meta.json (in the 0700 directory no container sees), read with a byte bound; the rewrite truncates whatever a
// container wrote. Directories are 0700 (Paths.hostsDir included); the files 0644, for the container's users.
import { mkdir, open, readdir, rename, rm, writeFile } from "node:fs/promises";
import { isIPv4 } from "node:net";
import { join } from "node:path";
import { AlreadyExistsError, throwIfAborted, InvalidArgumentError, NotFoundError } from "../../common/errors.js";
import { withFileLock } from "../../common/file-lock.js";
import { currentOwner } from "../../common/owner.js";
import type { Paths } from "../../common/paths.js";
import type { ProcessRunner } from "../../common/process-runner.js";
import { debug } from "../../common/debug.js";
import { isContainerId, validateContainerId } from "../container-id.js";
import { ensurePrivateDir, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from "../../common/private-dir.js";
import { renderHostname, renderHostsFile, renderResolvConf, validateEntries, type HostsEntry } from "./hosts-file.js";
import { readBounded } from "../../common/bounded-read.js";

const log = debug("network");

/** The most the store reads of a meta.json (it writes a few hundred bytes): a corrupt or planted file cannot flood it. */
export const META_READ_LIMIT = 64 * 1024;

/** Hosts files rewritten at once by setEntriesMany (libuv's pool has 4 threads; a few more keep it busy). */
const REWRITE_CONCURRENCY = 8;

/** The files of one container, to bind-mount. */
export interface HostsFiles {
  hostsPath: string;
  resolvConfPath: string;
  hostnamePath: string;
}

/** One container's record in the store. */
export interface HostsRecord {
  id: string;
  sessionId: string;
  ownerPid?: number;
  ownerStartTime?: string;
}

interface Meta {
  id: string;
  sessionId: string;
  ownerPid: number;
  ownerStartTime: string;
  hostname: string;
  ip?: string;
}

/** Per-container hosts, resolv.conf and hostname files, shared by every engine process on the machine. */
export class HostsStore {
  readonly #paths: Paths;
  readonly #runner: ProcessRunner;
  readonly #env: NodeJS.ProcessEnv | undefined;

  constructor(opts: { paths: Paths; runner: ProcessRunner; env?: NodeJS.ProcessEnv }) {
    this.#paths = opts.paths;
    this.#runner = opts.runner;
    this.#env = opts.env;
  }

  /** Creates the container's files; AlreadyExistsError when it has some. Nothing is written for invalid input. */
  async create(
    id: string,
    opts: {
      hostname: string;
      ip?: string;
      sessionId: string;
      entries?: HostsEntry[];
      /** `nameserver` lines for resolv.conf (HubNetwork.nameservers when egress is on); none by default. */
      nameservers?: readonly string[];
      signal?: AbortSignal;
    },
  ): Promise<HostsFiles> {
    validateContainerId(id);
    if (typeof opts.sessionId !== "string" || opts.sessionId === "") {
      throw new InvalidArgumentError(`hosts store: session id for ${id} must be a non-empty string`);
    }
    const hosts = renderHostsFile(opts);
    const resolvConf = renderResolvConf({ nameservers: opts.nameservers });
    const owner = currentOwner(opts.sessionId);
    const meta: Meta = { id, sessionId: opts.sessionId, ownerPid: owner.pid, ownerStartTime: owner.startTime, hostname: opts.hostname };
    if (opts.ip !== undefined) meta.ip = opts.ip;
    const dir = this.#dir(id);
    const files = this.#files(id);
    await ensurePrivateDir(this.#paths, this.#paths.hostsDir);
    throwIfAborted(opts.signal);
    await (async () => {
      try {
        await mkdir(dir, { mode: PRIVATE_DIR_MODE });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EEXIST") {
          throw new AlreadyExistsError(`hosts files for ${id} exist already`, { cause: err });
        }
        throw err;
      }
      try {
        await writeFile(join(dir, "meta.json"), JSON.stringify(meta) + "\n", { mode: PRIVATE_FILE_MODE });
        await writeFile(files.hostsPath, hosts, { mode: 0o644 });
        await writeFile(files.resolvConfPath, resolvConf, { mode: 0o644 });
        await writeFile(files.hostnamePath, renderHostname(opts.hostname), { mode: 0o644 });
      } catch (err) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
    })();
    log("%s: hosts files created (session %s)", id, opts.sessionId);
    return files;
  }

  /** Rewrites the container's hosts file with `entries` as its managed block, in place (same inode); NotFoundError when absent. */
  async setEntries(id: string, entries: HostsEntry[], opts: { signal?: AbortSignal } = {}): Promise<void> {
    const [missing] = await this.setEntriesMany([{ id, entries }], opts);
    if (missing) throw new NotFoundError(`no hosts file for ${id}`);
  }

  /**
   * Rewrites several containers' managed blocks under one acquisition of the store lock (a service starting or
   * stopping updates every container of its session at once). All input is validated before any file is touched.
   * A container whose files are gone (removed meanwhile) is skipped; its id is returned.
   */
  async setEntriesMany(updates: { id: string; entries: HostsEntry[] }[], opts: { signal?: AbortSignal } = {}): Promise<string[]> {
    const valid = updates.map(({ id, entries }) => {
      validateContainerId(id);
      return { id, entries: validateEntries(entries), hostsPath: this.#files(id).hostsPath };
    });
    const missing: string[] = [];
    if (valid.length === 0) return missing;
    await this.#locked(opts.signal, async () => {
      // A few files at a time: one by one, a session of K containers cost K sequential round trips per rewrite.
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < valid.length) {
          const { id, entries, hostsPath } = valid[next++]!;
          if (!(await this.#rewrite(id, entries, hostsPath))) missing.push(id);
        }
      };
      await Promise.all(Array.from({ length: Math.min(REWRITE_CONCURRENCY, valid.length) }, worker));
    });
    return missing;
  }

  /**
   * Records the container's own address (its files were created without one: they had to exist before its IP was
   * leased); the next rewrite of its hosts file (setEntries*) writes it in. Replaced atomically, so a rewrite under
   * way reads the old record or the new. NotFoundError when its files are gone.
   */
  async recordAddress(id: string, ip: string): Promise<void> {
    validateContainerId(id);
    if (!isIPv4(ip)) throw new InvalidArgumentError(`hosts store: ${JSON.stringify(ip)} is not an IPv4 address`);
    const meta = await this.#meta(id);
    if (meta === undefined) throw new NotFoundError(`no hosts file for ${id}`);
    const metaPath = join(this.#dir(id), "meta.json");
    await writeFile(`${metaPath}.tmp`, JSON.stringify({ ...meta, ip }) + "\n", { mode: PRIVATE_FILE_MODE });
    await rename(`${metaPath}.tmp`, metaPath);
  }

  /** Renders one container's hosts file from its meta.json and writes it in place; false when its files are gone. */
  async #rewrite(id: string, entries: HostsEntry[], hostsPath: string): Promise<boolean> {
    const meta = await this.#meta(id);
    if (meta === undefined || typeof meta.hostname !== "string") return false;
    const next = Buffer.from(renderHostsFile({ hostname: meta.hostname, ip: typeof meta.ip === "string" ? meta.ip : undefined, entries }), "utf8");
    let handle;
    try {
      handle = await open(hostsPath, "r+");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      return false;
    }
    try {
      // Write, then cut: a reader in the container never sees an empty file.
      await handle.write(next, 0, next.length, 0);
      await handle.truncate(next.length);
    } finally {
      await handle.close();
    }
    log("%s: hosts entries set (%d)", id, entries.length);
    return true;
  }

  /** Deletes the container's files; idempotent. */
  async remove(id: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    validateContainerId(id);
    throwIfAborted(opts.signal);
    await rm(this.#dir(id), { recursive: true, force: true });
    log("%s: hosts files removed", id);
  }

  /** Every container in the store with its owner (for reaping what dead engines left). */
  async list(): Promise<HostsRecord[]> {
    const names = await readdir(this.#paths.hostsDir).catch(() => [] as string[]);
    const records: HostsRecord[] = [];
    for (const id of names.sort()) {
      if (!isContainerId(id)) continue;
      let meta: Partial<Meta> = {};
      try {
        meta = (await this.#meta(id)) ?? {};
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOTDIR") continue;
      }
      const record: HostsRecord = { id, sessionId: typeof meta.sessionId === "string" ? meta.sessionId : "" };
      if (typeof meta.ownerPid === "number") record.ownerPid = meta.ownerPid;
      if (typeof meta.ownerStartTime === "string") record.ownerStartTime = meta.ownerStartTime;
      records.push(record);
    }
    return records;
  }

  /** The container's meta.json (at most META_READ_LIMIT bytes); undefined when missing, unparsable or too long. */
  async #meta(id: string): Promise<Partial<Meta> | undefined> {
    let text: string | undefined;
    try {
      text = await readBounded(join(this.#dir(id), "meta.json"), META_READ_LIMIT);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    if (text === undefined) return undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      return parsed !== null && typeof parsed === "object" ? (parsed as Partial<Meta>) : undefined;
    } catch {
      return undefined;
    }
  }

  #dir(id: string): string {
    return join(this.#paths.hostsDir, id);
  }

  /** Where create() puts the container's files (a spec may name them before they exist). */
  filesOf(id: string): HostsFiles {
    validateContainerId(id);
    return this.#files(id);
  }

  #files(id: string): HostsFiles {
    const dir = this.#dir(id);
    return { hostsPath: join(dir, "hosts"), resolvConfPath: join(dir, "resolv.conf"), hostnamePath: join(dir, "hostname") };
  }

  #locked<T>(signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    return withFileLock(this.#paths.hostsLock, { runner: this.#runner, env: this.#env, signal }, fn);
  }
}
