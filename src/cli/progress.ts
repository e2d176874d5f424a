// What `svc` shows while the engine works (DESIGN.md §7: `--progress auto|plain|tty`, `-q`): on a terminal, one
// progress bar per image layer being pulled (cli-progress, on stderr); otherwise plain lines — a layer when it
// starts and when it is done, an image when it is pulled, each build step, each service start — and with `-q`
// nothing. stdout stays the command's result only.
import cliProgress from "cli-progress";
import type { ProgressEvent } from "../definition/index.js";

export type ProgressMode = "auto" | "plain" | "tty";

export interface ProgressReporter {
  onProgress: (event: ProgressEvent) => void;
  /** Ends the bars (the terminal gets its cursor back). Idempotent. */
  stop: () => void;
}

const short = (digest: string) => digest.replace(/^sha256:/, "").slice(0, 12);

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** The reporter for the options, or undefined with `-q`. */
export function progressReporter(opts: { progress?: ProgressMode; quiet?: boolean }, stream: NodeJS.WriteStream = process.stderr): ProgressReporter | undefined {
  if (opts.quiet) return undefined;
  const mode = opts.progress ?? "auto";
  const tty = mode === "tty" || (mode === "auto" && stream.isTTY === true);
  return tty ? barReporter(stream) : plainReporter(stream);
}

/** One line per event that matters, never one per chunk. */
export function plainReporter(stream: NodeJS.WritableStream): ProgressReporter {
  const started = new Set<string>();
  const done = new Set<string>();
  const say = (line: string) => stream.write(`${line}\n`);
  return {
    onProgress(e) {
      switch (e.type) {
        case "pull": {
          const key = `${e.ref} ${e.layer}`;
          if (!started.has(key)) {
            started.add(key);
            say(`pull ${e.ref}: layer ${short(e.layer)} (${formatBytes(e.total)})`);
          }
          if (e.current >= e.total && !done.has(key)) {
            done.add(key);
            say(`pull ${e.ref}: layer ${short(e.layer)} done`);
          }
          break;
        }
        case "pulled":
          say(`pulled ${e.ref} ${e.digest}`);
          break;
        case "exec":
          say(`exec ${JSON.stringify(e.command)}${e.cached ? " (cached)" : ""}`);
          break;
        case "service":
          say(`service ${e.hostname}: ${e.state === "ready" ? "ready" : "starting (waiting for its readiness checks)"}`);
          break;
        default:
          say(describeOther(e));
      }
    },
    stop() {},
  };
}

/** Per-layer bars on a terminal; other events print above them. */
function barReporter(stream: NodeJS.WriteStream): ProgressReporter {
  const multi = new cliProgress.MultiBar(
    {
      stream,
      format: "{ref} {layer} [{bar}] {percentage}% {done}/{size}",
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      forceRedraw: true,
      noTTYOutput: true,
      barsize: 30,
      autopadding: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, cliProgress.SingleBar>();
  let stopped = false;
  return {
    onProgress(e) {
      if (stopped) return;
      if (e.type === "pull") {
        const key = `${e.ref} ${e.layer}`;
        const payload = { ref: e.ref, layer: short(e.layer), done: formatBytes(e.current), size: formatBytes(e.total) };
        let bar = bars.get(key);
        if (!bar) {
          bar = multi.create(Math.max(e.total, 1), 0, payload);
          bars.set(key, bar);
        }
        bar.update(Math.min(e.current, Math.max(e.total, 1)), payload);
      } else if (e.type === "pulled") {
        multi.log(`pulled ${e.ref} ${e.digest}\n`);
      } else if (e.type === "exec") {
        multi.log(`exec ${JSON.stringify(e.command)}${e.cached ? " (cached)" : ""}\n`);
      } else if (e.type === "service") {
        multi.log(`service ${e.hostname}: ${e.state}\n`);
      } else {
        multi.log(`${describeOther(e)}\n`);
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      multi.stop();
    },
  };
}

function describeOther(e: ProgressEvent): string {
  return JSON.stringify(e);
}
