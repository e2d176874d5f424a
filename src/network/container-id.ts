// The ids the network layer accepts: containerd's own id grammar, so an id is always a safe file name component
// (no '/', no "..", no whitespace) wherever it lands (netns files, hosts store dirs, CNI_CONTAINERID).
import { InvalidArgumentError } from "../common/errors.js";

const ID = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;

/** True when `id` is a containerd-style id of at most 76 characters. */
export function isContainerId(id: unknown): id is string {
  return typeof id === "string" && id.length <= 76 && ID.test(id);
}

/** Throws InvalidArgumentError unless `id` is a containerd-style id of at most 76 characters. */
export function validateContainerId(id: unknown): string {
  if (!isContainerId(id)) {
    throw new InvalidArgumentError(`container id ${JSON.stringify(id)} must match [A-Za-z0-9]+([._-][A-Za-z0-9]+)* (≤ 76 chars)`);
  }
  return id;
}
