// One session's view of the hub network: which of its services run at which address under which names, and which
// of its containers must see them. Every container of the session gets every running service's names in its hosts
// file (rewritten in place when a service starts or stops) plus its own binding aliases. Other sessions never see
// these names.
import { PendingWork } from "../../common/pending-work.js";
import { debug } from "../../common/debug.js";
import { InternalError } from "../../common/errors.js";
import { hostHash } from "../../definition/index.js";
import { SessionFirewall, type HostsEntry, type HostsStore, type HubNetwork } from "../../network/index.js";
import type { ProcessRunner } from "../../common/process-runner.js";
import type { BoundServices, PendingBindings } from "./service-bindings.js";

const log = debug("network");

export interface AttachOptions {
  hostname: string;
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
   * Writes its hosts file as its process must first see it: its own address (leased after the file was made), the
   * session's services, and `aliases` (alias → the bound service's address) as its binding aliases, which come up
   * while the container is made. Await it before the process starts; later changes are rewritten in place.
   */
  writeHosts(aliases: BoundServices["aliases"]): Promise<void>;
  detach(): Promise<void>;
}

/** An attach under way (SessionNetwork.attachInBackground): the paths a spec names, and the attach itself. */
export interface PendingAttach {
  netnsPath: string;
  hostsPath: string;
  resolvConfPath: string;
  /** Settles once the netns and the files exist: await it before the task is created (startContainer's beforeCreate). */
  created: Promise<void>;
  /** Settles with the attached container (on the bridge, its address known): await it before the process starts. */
  attached: Promise<AttachedContainer>;
}

/**
 * What a container's process waits for (startContainer's beforeStart): its attach, its bindings when it has any, its
 * hosts file written with their aliases, and its admission to the session firewall. Resolves with the bindings.
 */
export async function readyToStart(pending: PendingAttach, binding: PendingBindings | undefined): Promise<BoundServices | undefined> {
  const net = await pending.attached;
  const bound = binding && (await binding.bound);
  await net.writeHosts(bound?.aliases ?? []);
  await net.admitted();
  return bound;
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
  readonly #pending = new PendingWork();
  // Hosts rewrites run one at a time, so a later state never loses to an earlier one; changes made while one runs
  // share the next (it renders the state as it is when it starts), so K services starting or stopping together cost
  // a few rewrites of every file, not K (issue 13: that was O(K²) file writes and lock round trips).
  #writing: Promise<void> = Promise.resolve();
  #nextWrite: Promise<string[]> | undefined;

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

  /**
   * Attaches in two steps without making the caller wait for either: `created` once the netns and the files exist
   * (a task may be created with them), `attached` once the netns is on the bridge, its address recorded (and being
   * written into its hosts file) and its admission under way. The caller's undo is `detachLater(await attached)`; a failed
   * attach has undone itself.
   */
  async attachInBackground(id: string, opts: AttachOptions): Promise<PendingAttach> {
    const hub = await this.#hub();
    const netnsPath = hub.containerNetnsPath(id);
    const { hostsPath, resolvConfPath } = this.#store.filesOf(id);
    const signal = opts.signal ? { signal: opts.signal } : {};
    const own: HostsEntry[] = []; // its binding aliases come with writeHosts
    const undo = async (): Promise<void> => {
      this.#members.delete(id);
      await hub.removeContainer(id).catch((e: unknown) => log("%s: cleanup after failed attach: %s", id, e));
      await this.#store.remove(id).catch(() => {});
    };
    const created = (async () => {
      // The netns and the files at once: the files need no address yet (it is written in when leased).
      const [netns, files] = await Promise.allSettled([
        hub.createContainerNetns(id, signal),
        this.#store.create(id, { hostname: opts.hostname, sessionId: this.#sessionId, entries: this.#entriesFor(own), nameservers: hub.nameservers }),
      ]);
      if (netns.status === "rejected" || files.status === "rejected") {
        await undo();
        throw netns.status === "rejected" ? netns.reason : (files as PromiseRejectedResult).reason;
      }
      this.#members.set(id, own);
    })();
    const attached = created.then(async () => {
      const net = await hub.connectContainer(id, signal).catch(async (err: unknown) => {
        await undo();
        throw err;
      });
      const firewall = this.#firewallOf(hub);
      // The admission (one nft transaction) runs while the caller creates the task: only its process needs it.
      const admitted = firewall.admitContainer(this.#key, net);
      admitted.catch(() => {}); // the caller awaits it through admitted(); a failure also fails the start
      let detached: Promise<void> | undefined;
      let ownWritten: Promise<void> | undefined;
      const container: AttachedContainer = {
        id,
        ip: net.ip,
        netnsPath,
        hostsPath,
        resolvConfPath,
        hostnamePath: this.#store.filesOf(id).hostnamePath,
        admitted: () => admitted,
        // With no aliases (and none set before) the file needs nothing beyond the write its address started.
        writeHosts: (aliases) => (aliases.length === 0 && ownWritten && this.#members.get(id)?.length === 0 ? ownWritten : this.#setOwn(id, aliases)),
        detach: () => {
          detached ??= (async () => {
            this.#members.delete(id);
            await admitted.catch(() => {});
            await firewall.evictContainer(this.#key, net).catch((err: unknown) => log("%s: firewall: %s", id, err));
            await this.#store.remove(id);
            await hub.removeContainer(id);
          })();
          return detached;
        },
      };
      // Its own address, recorded for its hosts file and written in now, while the caller creates the task (a
      // session rewrite, shared with whatever else changed meanwhile); writeHosts() awaits that write.
      try {
        await this.#store.recordAddress(id, net.ip);
      } catch (err) {
        await container.detach().catch(() => {});
        throw err;
      }
      ownWritten = this.#rewriteAll().then((missing) => {
        if (missing.includes(id)) throw new InternalError(`the hosts file of ${id} is gone`);
      });
      ownWritten.catch(() => {}); // awaited by writeHosts(), or not needed when it is given aliases
      return container;
    });
    created.catch(() => {}); // reaches the caller through `attached` too
    attached.catch(() => {}); // the caller awaits it in beforeCreate/beforeStart, or in its undo
    return { netnsPath, hostsPath, resolvConfPath, created, attached };
  }

  /** Detaches a container without making the caller wait; `drain()` waits for every such detach. */
  detachLater(container: AttachedContainer): void {
    this.#pending.add(container.detach().catch((err: unknown) => log("%s: detach: %s", container.id, err)));
  }

  /** Waits for every detach started with detachLater (before the hub is released). */
  async drain(): Promise<void> {
    await this.#pending.drain();
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
    return this.#rewriteAllLogged();
  }

  /** Removes a service's names from every container of the session. */
  unpublish(id: string): Promise<void> {
    if (!this.#published.delete(id)) return Promise.resolve();
    return this.#rewriteAllLogged();
  }

  /**
   * Sets a member's own alias entries and has its file rewritten (joining the session's next rewrite, so K
   * containers starting together share a few); rejects when its file could not be written.
   */
  async #setOwn(id: string, aliases: BoundServices["aliases"]): Promise<void> {
    if (!this.#members.has(id)) throw new InternalError(`${id} is not attached to the session network`);
    this.#members.set(id, aliases.map(({ alias, ip }) => ({ ip, names: [alias] })));
    const missing = await this.#rewriteAll();
    if (missing.includes(id)) throw new InternalError(`the hosts file of ${id} is gone`);
  }

  #entriesFor(own: HostsEntry[]): HostsEntry[] {
    return [...this.#published.values(), ...own];
  }

  /** A session rewrite whose failure is logged, not thrown (publish, unpublish: the names change regardless). */
  #rewriteAllLogged(): Promise<void> {
    return this.#rewriteAll().then(
      () => {},
      (err: unknown) => log("hosts update: %s", err),
    );
  }

  /** Rewrites every member's file (the next rewrite, shared by every change made before it starts); its missing ids. */
  #rewriteAll(): Promise<string[]> {
    this.#nextWrite ??= this.#writing.then(() => {
      this.#nextWrite = undefined; // changes from now on need a rewrite after this one
      const updates = [...this.#members].map(([id, own]) => ({ id, entries: this.#entriesFor(own) }));
      return this.#store.setEntriesMany(updates);
    });
    const next = this.#nextWrite;
    this.#writing = next.then(
      () => {},
      () => {},
    );
    return next;
  }
}
