// The automatic build-cache GC: a bounded run of the policy in the background, started at connect and after a
// session commits new steps, at most once a minute machine-wide (the stamp file's mtime), never awaited by a build.
// Like BuildKit's throttled GC after each build; a session's close waits for a run in progress (it is bounded).
import { chmodSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { debug } from "../../common/debug.js";
import { PRIVATE_FILE_MODE } from "../../common/private-dir.js";
import type { PruneLimits, PruneRun } from "./cache-pruner.js";

const log = debug("engine");

export interface AutoGcOptions {
  /** One bounded run of the policy. */
  run: (limits: PruneLimits) => Promise<PruneRun>;
  /** Paths.cacheGcStamp. */
  stampPath: string;
  /** Minimum time between runs on the machine (default 60 s). */
  intervalMs?: number;
  /** How long a run may keep taking steps (default 2 s); what is left waits for the next run. */
  runBudgetMs?: number;
  /** Steps per run (default 256). */
  maxRemovals?: number;
  now?: () => number;
}

export class AutoGc {
  readonly #opts: AutoGcOptions;
  readonly #now: () => number;
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(opts: AutoGcOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** Starts a run in the background unless one ran recently (or is running). Never throws, never waits. */
  trigger(): void {
    if (this.#closed || this.#running || !this.#due()) return;
    const budget = this.#opts.runBudgetMs ?? 2_000;
    const run = (async () => {
      try {
        const result = await this.#opts.run({ deadlineMs: this.#now() + budget, maxRemovals: this.#opts.maxRemovals ?? 256 });
        if (result.removed > 0 || result.more) log("automatic GC: %j", result);
      } catch (err) {
        log("automatic GC failed: %s", err);
      }
    })();
    this.#running = run;
    void run.finally(() => {
      if (this.#running === run) this.#running = undefined;
    });
  }

  /** Resolves when no run is in progress (one may start later). */
  async settled(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** No more runs; resolves when the one in progress (bounded by runBudgetMs) is done. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#running;
  }

  /** True (and the stamp renewed) when no engine ran the GC within the interval. */
  #due(): boolean {
    const path = this.#opts.stampPath;
    try {
      if (this.#now() - statSync(path).mtimeMs < (this.#opts.intervalMs ?? 60_000)) return false;
    } catch {
      // no stamp yet
    }
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o711 });
      writeFileSync(path, "", { mode: PRIVATE_FILE_MODE }); // state files are not readable by other local users
      chmodSync(path, PRIVATE_FILE_MODE); // a stamp an earlier version wrote 0644
    } catch (err) {
      log("cannot write %s: %s", path, err);
    }
    return true;
  }
}
