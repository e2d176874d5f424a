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

/** The tun device slirp4netns opens for egress. */
export const TUN_DEVICE = "/dev/net/tun";

/**
 * Why TUN_DEVICE cannot be used, with the fix for who is asking: a user refused by its mode (0600 root here) needs it
 * opened up by root, not a module load; a missing device (or root refused) needs the tun module.
 */
export function tunUnusableReason(code: string, uid: number): string {
  if (uid !== 0 && (code === "EACCES" || code === "EPERM")) {
    return (
      `${TUN_DEVICE} is not accessible to you (uid ${uid}, ${code}): as root, chmod 0666 ${TUN_DEVICE} ` +
      `(the mode Debian's udev rule gives it), or run svcd as root`
    );
  }
  return `${TUN_DEVICE} is not usable (${code}): load the tun module (modprobe tun) and let the engine open it`;
}
