// A service's output: the last lines in memory (for ServiceError and `svc logs`) and everything appended to a file
// under the engine's state dir. Layout: <paths.serviceLogsDir>/<container id>.log, one file per service run.
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { join } from "node:path";

/** Lines kept in memory per service. */
export const LOG_TAIL_LINES = 50;

export class ServiceLogs {
  readonly path: string;
  readonly #lines: string[] = [];
  #partial = "";
  readonly #file: WriteStream;

  constructor(dir: string, id: string) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, `${id}.log`);
    this.#file = createWriteStream(this.path, { flags: "a" });
    this.#file.on("error", () => {}); // logs are best effort; a full disk must not fail the service
  }

  /** Appends a chunk of stdout or stderr. */
  write(chunk: Buffer): void {
    this.#file.write(chunk);
    const text = this.#partial + chunk.toString("utf8");
    const parts = text.split("\n");
    this.#partial = parts.pop() ?? "";
    for (const line of parts) this.#push(line);
  }

  /** The last `n` lines (an unterminated last line included). */
  tail(n = LOG_TAIL_LINES): string {
    const lines = this.#partial ? [...this.#lines, this.#partial] : [...this.#lines];
    return lines.slice(-n).join("\n");
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#file.end(resolve));
  }

  #push(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > LOG_TAIL_LINES) this.#lines.shift();
  }
}
