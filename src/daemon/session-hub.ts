// The daemon's sessions (DESIGN.md §2): clients passing one sessionId share one engine session — services dedupe
// across them — and each client's `start()` pins, bindings, `up` tunnels and calls are its own, released when it
// leaves (its stream ends, also when it is killed). The session ends with its last client.
import { isAbsolute } from "node:path";
import { nanoid } from "nanoid";
import { PendingWork } from "../common/pending-work.js";
import { debug } from "../common/debug.js";
import { CancelledError, InvalidArgumentError } from "../common/errors.js";
import { assertId, type ProgressEvent, type UpSession } from "../definition/index.js";
import { graceOf, LocalHost, openSession, runAsCaller, type Caller, type EmbeddedEngine, type EngineCore } from "../engine/index.js";
import { resolveMirrors } from "../image/index.js";

const log = debug("daemon");

export interface JoinRequest {
  sessionId: string;
  moduleId: string;
  registryMirrors: Record<string, string>;
  serviceGracePeriodMs?: number | undefined;
  cwd: string;
  onProgress?: ((event: ProgressEvent) => void) | undefined;
}

interface SharedSession {
  id: string;
  engine: EmbeddedEngine;
  moduleId: string;
  mirrors: string;
  clients: Set<ClientSession>;
}

/** One client's part of a (possibly shared) session. */
export class ClientSession {
  readonly session: SharedSession;
  readonly caller: Caller;
  readonly cwd: string;
  readonly #hub: SessionHub;
  readonly #gone = new AbortController();
  readonly #calls = new PendingWork();
  readonly #ups = new Map<number, UpSession>();
  #nextUp = 1;
  #leaving: Promise<void> | undefined;

  constructor(hub: SessionHub, session: SharedSession, caller: Caller, cwd: string) {
    this.#hub = hub;
    this.session = session;
    this.caller = caller;
    this.cwd = cwd;
  }

  get engine(): EmbeddedEngine {
    return this.session.engine;
  }

  /** Runs one call for this client: cancelled by `signal` or when the client leaves. */
  run<T>(signal: AbortSignal, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.#leaving) return Promise.reject(new CancelledError("the client has left its session"));
    const both = AbortSignal.any([signal, this.#gone.signal]);
    const call = runAsCaller(this.caller, () => work(both));
    this.#calls.add(call);
    return call;
  }

  /** Keeps an `up` tunnel until this client closes it or leaves. */
  addUp(up: UpSession): number {
    if (this.#leaving) {
      void up.close().catch((err) => log("closing an up tunnel: %s", err));
      throw new CancelledError("the client has left its session");
    }
    const id = this.#nextUp++;
    this.#ups.set(id, up);
    return id;
  }

  async closeUp(id: number): Promise<void> {
    const up = this.#ups.get(id);
    this.#ups.delete(id);
    await up?.close();
  }

  /** Resolves once no call of this client is under way (new ones may start meanwhile; they are waited for too). */
  async settled(): Promise<void> {
    await this.#calls.drain();
  }

  /** Releases everything the client held; the session ends if it was the last. Idempotent. */
  leave(): Promise<void> {
    this.#leaving ??= (async () => {
      this.#gone.abort(new CancelledError("the client left its session"));
      await Promise.all([...this.#ups.values()].map((u) => u.close().catch((err) => log("closing an up tunnel: %s", err))));
      this.#ups.clear();
      await this.#calls.drain();
      await this.#hub.leave(this);
    })();
    return this.#leaving;
  }
}

export class SessionHub {
  readonly #core: EngineCore;
  readonly #sessions = new Map<string, SharedSession>();
  readonly #opening = new Map<string, Promise<SharedSession>>();
  /** Sessions whose last client left, still stopping: a client joining the same id waits for the end first. */
  readonly #ending = new Map<string, Promise<void>>();
  /**
   * The hub and forward agent are left when the last session ends, so an idle daemon holds nothing but containerd;
   * a session opening meanwhile waits for that to finish and joins the hub again.
   */
  #idling: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(core: EngineCore) {
    this.#core = core;
  }

  /** How many sessions and clients are open (for tests and shutdown). */
  get counts(): { sessions: number; clients: number } {
    let clients = 0;
    for (const s of this.#sessions.values()) clients += s.clients.size;
    return { sessions: this.#sessions.size, clients };
  }

  /** Opens a session or joins the one with this id. Every option is checked as connect() checks it. */
  async join(request: JoinRequest): Promise<ClientSession> {
    if (this.#closed) throw new CancelledError("the svcd daemon is shutting down");
    const id = request.sessionId === "" ? nanoid() : request.sessionId;
    assertId(id, "sessionId");
    const moduleId = request.moduleId === "" ? "main" : request.moduleId;
    assertId(moduleId, "moduleId");
    const graceMs = graceOf(request.serviceGracePeriodMs);
    if (!isAbsolute(request.cwd)) throw new InvalidArgumentError(`the client's working directory ${JSON.stringify(request.cwd)} must be absolute`);
    const mirrors = JSON.stringify(Object.entries(request.registryMirrors).sort(([a], [b]) => (a < b ? -1 : 1)));
    resolveMirrors(request.registryMirrors, this.#core.env);
    await this.#ending.get(id);
    await this.#idling;
    if (this.#closed) throw new CancelledError("the svcd daemon is shutting down");
    let session = this.#sessions.get(id);
    if (!session) {
      // Concurrent first joins of one id wait for the same opening, then share it.
      let opening = this.#opening.get(id);
      if (!opening) {
        opening = (async () => {
          const engine = await openSession(this.#core, { sessionId: id, moduleId, registryMirrors: request.registryMirrors, serviceGracePeriodMs: graceMs, host: new LocalHost() });
          const opened: SharedSession = { id, engine, moduleId, mirrors, clients: new Set() };
          this.#sessions.set(id, opened);
          log("session %s opened", id);
          return opened;
        })().finally(() => this.#opening.delete(id));
        this.#opening.set(id, opening);
      }
      session = await opening;
    }
    if (session.moduleId !== moduleId) {
      throw new InvalidArgumentError(`session ${JSON.stringify(id)} is open with moduleId ${JSON.stringify(session.moduleId)}: clients sharing a session pass the same moduleId`);
    }
    if (session.mirrors !== mirrors) {
      throw new InvalidArgumentError(`session ${JSON.stringify(id)} is open with other registryMirrors: clients sharing a session pass the same mirrors`);
    }
    const client = new ClientSession(this, session, { id: {}, graceMs, onProgress: request.onProgress }, request.cwd);
    session.clients.add(client);
    return client;
  }

  /** @internal Called by ClientSession.leave. */
  async leave(client: ClientSession): Promise<void> {
    const session = client.session;
    session.clients.delete(client);
    session.engine.releaseCaller(client.caller);
    if (session.clients.size > 0 || this.#sessions.get(session.id) !== session) return;
    this.#sessions.delete(session.id);
    const ending = session.engine.close().finally(() => {
      if (this.#ending.get(session.id) === ending) this.#ending.delete(session.id);
      log("session %s closed", session.id);
    });
    this.#ending.set(session.id, ending);
    await ending;
    if (this.#sessions.size === 0 && this.#ending.size === 0) {
      this.#idling = this.#idling.then(() => (this.#sessions.size === 0 ? this.#core.resources.close().catch((err) => log("leaving the hub: %s", err)) : undefined));
      await this.#idling;
    }
  }

  /** Resolves once sessions being ended have ended and the hub, if idle, has been left. */
  async settled(): Promise<void> {
    while (this.#ending.size > 0) await Promise.all([...this.#ending.values()]);
    await this.#idling;
  }

  /**
   * Refuses new sessions, lets the calls under way finish for up to `drainMs` (a client's exec or service start is
   * not cut short by a routine restart), then ends every session: what is still running is cancelled.
   */
  async close(drainMs = 0): Promise<void> {
    this.#closed = true;
    const clients = [...this.#sessions.values()].flatMap((s) => [...s.clients]);
    if (drainMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(clients.map((c) => c.settled())), new Promise((r) => (timer = setTimeout(r, drainMs)))]);
      clearTimeout(timer);
    }
    await Promise.all(clients.map((c) => c.leave()));
    await Promise.all([...this.#ending.values()]);
  }
}
