// One process's stdio over FIFOs. stdout/stderr are opened O_RDONLY|O_NONBLOCK before the task is created (so the
// shim's open for writing never blocks) and read as sockets: a reader that no writer has opened yet sees no EOF,
// and the shim closing its end after the process exits ends the stream. Reading starts at once, so a process that
// prints a lot never blocks on a full pipe. stdin is written after the task exists (the shim holds the read end),
// then closed, then the caller signals EOF to containerd (Tasks.CloseIO).
import { constants, openSync, closeSync } from "node:fs";
import { Socket } from "node:net";
import { debug } from "../common/debug.js";
import type { ProcessRunner } from "../common/process-runner.js";
import { createFifos, removeFifos, type FifoSet } from "./fifo.js";
import { OutputBuffer } from "./output-buffer.js";

const log = debug("runtime");

/** How a process's output is delivered. */
export interface OutputOptions {
  /** Called with every stdout chunk as it arrives (the chunk is also buffered). */
  onStdout?: (chunk: Buffer) => void;
  /** Called with every stderr chunk as it arrives (the chunk is also buffered). */
  onStderr?: (chunk: Buffer) => void;
  /** Bytes kept per stream (the tail); default 64 MiB. */
  maxOutputBytes?: number;
}

/** Output options plus the stdin bytes. */
export interface ProcessIOOptions extends OutputOptions {
  /** Bytes written to the process's stdin, which is then closed. Absent: the process gets no stdin. */
  stdin?: string | Buffer;
  signal?: AbortSignal;
}

/** Paths as containerd's CreateTaskRequest / ExecProcessRequest want them ("" for none). */
export interface StdioPaths {
  stdin: string;
  stdout: string;
  stderr: string;
}

/** The open stdio of one process. Always `close()` it (idempotent): it closes the fds and removes the FIFO dir. */
export class ProcessIO {
  readonly fifos: FifoSet;
  readonly stdout: OutputBuffer;
  readonly stderr: OutputBuffer;
  private readonly sockets: Socket[] = [];
  private readonly ended: Promise<void>;
  private readonly input: Buffer | undefined;
  private stdinSocket: Socket | undefined;
  private closed = false;

  private constructor(fifos: FifoSet, fds: [number, number], opts: ProcessIOOptions) {
    this.fifos = fifos;
    this.stdout = new OutputBuffer(opts.maxOutputBytes);
    this.stderr = new OutputBuffer(opts.maxOutputBytes);
    this.input = opts.stdin === undefined ? undefined : Buffer.from(opts.stdin);
    this.ended = Promise.all([
      this.readInto(fds[0], fifos.stdout, this.stdout, opts.onStdout),
      this.readInto(fds[1], fifos.stderr, this.stderr, opts.onStderr),
    ]).then(() => undefined);
  }

  /** Creates the FIFOs in `dir` and opens the output ends for reading. */
  static async open(runner: ProcessRunner, dir: string, opts: ProcessIOOptions = {}): Promise<ProcessIO> {
    if (opts.maxOutputBytes !== undefined) new OutputBuffer(opts.maxOutputBytes); // validates before any I/O
    const fifos = await createFifos(runner, dir, { stdin: opts.stdin !== undefined, signal: opts.signal });
    const fds: number[] = [];
    try {
      for (const path of [fifos.stdout, fifos.stderr]) fds.push(openSync(path, constants.O_RDONLY | constants.O_NONBLOCK));
      return new ProcessIO(fifos, fds as [number, number], opts);
    } catch (err) {
      for (const fd of fds) closeQuietly(fd);
      await removeFifos(dir);
      throw err;
    }
  }

  /** The FIFO paths for containerd. */
  get paths(): StdioPaths {
    return { stdin: this.fifos.stdin ?? "", stdout: this.fifos.stdout, stderr: this.fifos.stderr };
  }

  private readInto(fd: number, path: string, buffer: OutputBuffer, onChunk?: (chunk: Buffer) => void): Promise<void> {
    const socket = new Socket({ fd, readable: true, writable: false });
    this.sockets.push(socket);
    return new Promise<void>((resolve) => {
      socket.on("data", (chunk: Buffer) => {
        buffer.push(chunk);
        if (onChunk) {
          try {
            onChunk(chunk);
          } catch (err) {
            log("output callback threw: %s", err);
          }
        }
      });
      socket.on("error", (err) => log("reading %s: %s", path, err));
      socket.on("close", () => resolve());
    });
  }

  /**
   * Writes the stdin bytes (if any) once the process's reader exists (after task/exec create), closes our end and
   * then calls `closeIO` so containerd closes the process's stdin. A process that exits without reading is fine.
   */
  async writeStdin(closeIO: () => Promise<void>): Promise<void> {
    const input = this.input;
    if (input === undefined || this.fifos.stdin === undefined || this.closed) return;
    try {
      const socket = new Socket({ fd: openWriteEnd(this.fifos.stdin), readable: false, writable: true });
      this.stdinSocket = socket;
      await new Promise<void>((resolve) => {
        socket.on("error", (err) => {
          log("writing stdin: %s", err);
          resolve();
        });
        socket.on("close", () => resolve());
        socket.end(input, () => socket.destroy());
      });
    } finally {
      if (!this.closed) await closeIO();
    }
  }

  /** Resolves when both stdout and stderr reached EOF (the writers closed) or were closed. */
  done(): Promise<void> {
    return this.ended;
  }

  /** Closes every fd (ending streams that are still open) and removes the FIFO directory. Idempotent. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      for (const s of this.sockets) s.destroy();
      this.stdinSocket?.destroy();
    }
    await this.ended;
    await removeFifos(this.fifos.dir);
  }
}

/**
 * Opens a FIFO's write end without blocking. O_WRONLY|O_NONBLOCK fails (ENXIO) while no reader has it open — the
 * shim opens an exec's stdin only at Start — so then O_RDWR, which Linux opens at once; the bytes wait in the pipe.
 */
function openWriteEnd(path: string): number {
  try {
    return openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENXIO") throw err;
    return openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
