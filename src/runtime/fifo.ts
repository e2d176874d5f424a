// The stdio FIFOs of one task or exec process, in a directory both the engine and containerd's shim can see
// (Paths.fifoDir). Node has no mkfifo: it runs mkfifo(1) through the ProcessRunner, so rootless mode creates them
// inside its namespaces. The directory is removed with everything in it when the process is done.
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { runChecked, type ProcessRunner } from "../common/process-runner.js";

/** Paths of one process's FIFOs; `stdin` is absent when the process gets no input. */
export interface FifoSet {
  dir: string;
  stdin?: string;
  stdout: string;
  stderr: string;
}

/** Which FIFOs to create. */
export interface CreateFifosOptions {
  /** Also create a stdin FIFO. */
  stdin?: boolean;
  signal?: AbortSignal;
}

/** Creates `dir` (mode 0700, fresh) and the FIFOs in it. On failure nothing is left behind. */
export async function createFifos(runner: ProcessRunner, dir: string, opts: CreateFifosOptions = {}): Promise<FifoSet> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const set: FifoSet = { dir, stdout: join(dir, "stdout"), stderr: join(dir, "stderr") };
  if (opts.stdin) set.stdin = join(dir, "stdin");
  try {
    const files = [set.stdin, set.stdout, set.stderr].filter((f): f is string => f !== undefined);
    await runChecked(runner, "mkfifo", ["-m", "0600", "--", ...files], { signal: opts.signal });
    return set;
  } catch (err) {
    await removeFifos(dir);
    throw err;
  }
}

/** Removes a FIFO directory; missing is fine. */
export async function removeFifos(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
