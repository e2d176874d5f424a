// What the forward layer's long-lived helper processes (the agent, the splice helpers) leave for error messages:
// the tail of their stderr and how they ended.
import type { ChildProcess } from "node:child_process";

export interface ChildWatch {
  /** Resolves once the child has exited, or could not be spawned. */
  readonly exited: Promise<void>;
  /** The last `tailBytes` of its stderr, trimmed. */
  stderrTail(): string;
  /** "exit code N" or "killed by SIG…" once it has exited; "" before. */
  exitText(): string;
}

/** Keeps the tail of `child`'s stderr (each chunk also goes to `onStderr`) and how it exited. */
export function watchChild(child: ChildProcess, tailBytes: number, onStderr?: (chunk: string) => void): ChildWatch {
  let tail = "";
  child.stderr?.on("data", (b: Buffer) => {
    const chunk = b.toString("utf8");
    tail = (tail + chunk).slice(-tailBytes);
    onStderr?.(chunk);
  });
  let exitText = "";
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exitText = signal ? `killed by ${signal}` : `exit code ${code}`;
      resolve();
    });
    child.once("error", () => resolve());
  });
  return { exited, stderrTail: () => tail.trim(), exitText: () => exitText };
}
