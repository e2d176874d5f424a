// One session's view of the hub network: which of its services run at which address under which names, and which
// of its containers must see them. Every container of the session gets every running service's names in its hosts
// file (rewritten in place when a service starts or stops) plus its own binding aliases. Other sessions never see
// these names.
import { debug } from "../../common/debug.js";
import { InternalError } from "../../common/errors.js";
import { hostHash } from "../../definition/index.js";
import { SessionFirewall, type HostsEntry, type HostsStore, type HubNetwork } from "../../network/index.js";
import type { ProcessRunner } from "../../common/process-runner.js";

const log = debug("network");

export interface AttachOptions {
  hostname: string;
  /** Binding aliases of this container: alias → the bound service's address. */
  aliases: { alias: string; ip: string }[];
  signal?: AbortSignal | undefined;
}

/** A container's network: its netns and the files to bind-mount; `detach()` removes all of it. */
export interface AttachedContainer {
  id: string;
  ip: string;
  netnsPath: string;
  hostsPath: string;
  resolvConfPath: string;
  hostnamePath: string;
  /**
   * Resolves once the container's port is admitted to the session firewall (until then the hub drops every frame
   * from it): await it before the container's process starts (startContainer's beforeStart). It runs meanwhile.
   */
  admitted(): Promise<void>;
  /**
   * Replaces the container's own binding aliases (its hosts file is rewritten in place): for bindings that come up
   * while the container is being made, set before its process starts.
   */
  setAliases(aliases: AttachOptions["aliases"]): Promise<void>;
  detach(): Promise<void>;
}

/** An attach under way (SessionNetwork.attachInBackground): the paths a spec names, and the attach itself. */
export interface PendingAttach {
  netnsPath: string;
  hostsPath: string;
  resolvConfPath: string;
  /** Settles with the attached container; await it before the task is created (startContainer's beforeCreate). */
  attached: Promise<AttachedContainer>;
}

export class SessionNetwork {
  readonly #hub: () => Promise<HubNetwork>;
  readonly #store: HostsStore;
  readonly #sessionId: string;
  readonly #runner: ProcessRunner;
  #firewall: SessionFirewall | undefined;
  /** Running services of the session: container id → address and names. */
  readonly #published = new Map<string, HostsEntry>();
  /** Attached containers of the session: id → their own alias entries. */
  readonly #members = new Map<string, HostsEntry[]>();
  /** Detaches still under way (finished off the caller's path; drained before the session ends). */
  readonly #pending = new Set<Promise<void>>();
  // Hosts rewrites run one at a time, so a later state never loses to an earlier one; changes made while one runs
  // share the next (it renders the state as it is when it starts), so K services starting or stopping together cost
  // a few rewrites of every file, not K (issue 13: that was O(K²) file writes and lock round trips).
  #writing: Promise<void> = Promise.resolve();
  #nextWrite: Promise<void> | undefined;
  /** Bumped by every publish and unpublish: an attach that raced one rewrites its own file once more. */
  #version = 0;

  constructor(hub: () => Promise<HubNetwork>, store: HostsStore, sessionId: string, runner: ProcessRunner) {
    this.#hub = hub;
    this.#store = store;
    this.#sessionId = sessionId;
    this.#runner = runner;
  }

  #firewallOf(hub: HubNetwork): SessionFirewall {
    this.#firewall ??= new SessionFirewall(hub.netnsPath, this.#runner);
    return this.#firewall;
  }

  /** The session's key in the hub firewall: only addresses with the same key reach each other. */
  get #key(): string {
    return hostHash(this.#sessionId);
  }

  async attach(id: string, opts: AttachOptions): Promise<AttachedContainer> {
    const hub = await this.#hub();
    const net = await hub.addContainer(id, opts.signal ? { signal: opts.signal } : {});
    const firewall = this.#firewallOf(hub);
    // The admission (one nft transaction) runs while the caller creates the container: only its process needs it.
    const admitted = firewall.admitContainer(this.#key, net);
    admitted.catch(() => {}); // the caller awaits it through admitted(); a failure also fails the start
    try {
      const own = opts.aliases.map(({ alias, ip }) => ({ ip, names: [alias] }));
      const version = this.#version;
      const files = await this.#store.create(id, {
        hostname: opts.hostname,
        ip: net.ip,
        sessionId: this.#sessionId,
        entries: this.#entriesFor(own),
        nameservers: hub.nameservers, // slirp4netns's DNS when egress is on
      });
      this.#members.set(id, own);
      // A service published or unpublished while the file was being created may have missed it: bring it up to date.
      if (version !== this.#version) await this.#rewriteAll();
      let detached: Promise<void> | undefined;
      return {
        id,
        ip: net.ip,
        netnsPath: net.netnsPath,
        ...files,
        admitted: () => admitted,
        setAliases: (aliases) => this.#setOwn(id, aliases),
        detach: () => {
          detached ??= (async () => {
            this.#members.delete(id);
            await firewall.evictContainer(this.#key, net).catch((err: unknown) => log("%s: firewall: %s", id, err));
            await this.#store.remove(id);
            await hub.removeContainer(id);
          })();
          return detached;
        },
      };
    } catch (err) {
      await admitted.catch(() => {});
      await firewall.evictContainer(this.#key, net).catch(() => {});
      await hub.removeContainer(id).catch((e: unknown) => log("%s: cleanup after failed attach: %s", id, e));
      await this.#store.remove(id).catch(() => {});
      throw err;
    }
  }

  /**
   * Starts attach() without waiting for it, so the container's snapshot and record are made meanwhile; the files
   * it will create are known at once. The caller's undo is `detachLater(await attached)` (a failed attach has undone
   * itself).
   */
  async attachInBackground(id: string, opts: AttachOptions): Promise<PendingAttach> {
    const hub = await this.#hub();
    const netnsPath = hub.containerNetnsPath(id);
    const { hostsPath, resolvConfPath } = this.#store.filesOf(id);
    const attached = this.attach(id, opts);
    attached.catch(() => {}); // the caller awaits it in beforeCreate, or in its undo
    return { netnsPath, hostsPath, resolvConfPath, attached };
  }

  /** Detaches a container without making the caller wait; `drain()` waits for every such detach. */
  detachLater(container: AttachedContainer): void {
    const done = container.detach().catch((err: unknown) => log("%s: detach: %s", container.id, err));
    this.#pending.add(done);
    void done.finally(() => this.#pending.delete(done));
  }

  /** Waits for every detach started with detachLater (before the hub is released). */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }


  /** Lets only this session's containers reach `ip` (a host service's listener in the hub); returns the undo. */
  async guard(ip: string): Promise<() => Promise<void>> {
    const firewall = this.#firewallOf(await this.#hub());
    await firewall.admitAddress(this.#key, ip);
    return () => firewall.evictAddress(this.#key, ip);
  }

  /** Makes a service's names resolve from every container of the session. */
  publish(id: string, ip: string, names: string[]): Promise<void> {
    this.#published.set(id, { ip, names });
    this.#version++;
    return this.#rewriteAll();
  }

  /** Removes a service's names from every container of the session. */
  unpublish(id: string): Promise<void> {
    if (!this.#published.delete(id)) return Promise.resolve();
    this.#version++;
    return this.#rewriteAll();
  }

  /**
   * Sets a member's own alias entries and rewrites its file, in the same queue as the session's rewrites (so an
   * earlier rendering never lands after it). Rejects when the file could not be written.
   */
  #setOwn(id: string, aliases: AttachOptions["aliases"]): Promise<void> {
    if (!this.#members.has(id)) return Promise.reject(new InternalError(`${id} is not attached to the session network`));
    this.#members.set(id, aliases.map(({ alias, ip }) => ({ ip, names: [alias] })));
    const write = this.#writing.then(async () => {
      const own = this.#members.get(id);
      if (own === undefined) return; // detached meanwhile
      const [missing] = await this.#store.setEntriesMany([{ id, entries: this.#entriesFor(own) }]);
      if (missing) throw new InternalError(`the hosts file of ${id} is gone`);
    });
    this.#writing = write.catch(() => {});
    return write;
  }

  #entriesFor(own: HostsEntry[]): HostsEntry[] {
    return [...this.#published.values(), ...own];
  }

  #rewriteAll(): Promise<void> {
    this.#nextWrite ??= this.#writing.then(async () => {
      this.#nextWrite = undefined; // changes from now on need a rewrite after this one
      const updates = [...this.#members].map(([id, own]) => ({ id, entries: this.#entriesFor(own) }));
      await this.#store.setEntriesMany(updates).catch((err: unknown) => log("hosts update: %s", err));
    });
    this.#writing = this.#nextWrite;
    return this.#nextWrite;
  }
}
