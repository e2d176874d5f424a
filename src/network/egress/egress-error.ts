// The typed error for "containers cannot reach the outside": the hub works, egress is off, and this says why.
import { EngineUnavailableError, type SvcdErrorOptions } from "../../common/errors.js";

/** Egress could not start (no usable /dev/net/tun, slirp4netns missing or failing, NAT setup refused). */
export class EgressError extends EngineUnavailableError {
  /** Why egress is off, without the "egress is off: " prefix (for status lines). */
  readonly reason: string;

  constructor(reason: string, options?: SvcdErrorOptions) {
    super(`egress is off: ${reason}`, options);
    this.reason = reason;
  }
}
