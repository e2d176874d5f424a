// The typed error a failing CNI plugin becomes: its own code, message and details, kept for the caller.
import { InternalError, type SvcdErrorOptions } from "../../common/errors.js";

/** A CNI plugin exited non-zero (or answered garbage); `cniCode`/`details` come from its error JSON when it sent one. */
export class CniError extends InternalError {
  readonly plugin: string;
  readonly command: string;
  readonly containerId: string;
  readonly cniCode: number | undefined;
  readonly details: string;

  constructor(
    info: { plugin: string; command: string; containerId: string; message: string; cniCode?: number; details?: string },
    options?: SvcdErrorOptions,
  ) {
    const extra = info.details ? `: ${info.details}` : "";
    super(`CNI ${info.plugin} ${info.command} for ${info.containerId} failed: ${info.message}${extra}`, options);
    this.plugin = info.plugin;
    this.command = info.command;
    this.containerId = info.containerId;
    this.cniCode = info.cniCode;
    this.details = info.details ?? "";
  }
}
