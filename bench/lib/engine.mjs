// Which containerd the svcd side of a benchmark talks to, in either mode. As root: $CONTAINERD_ADDRESS, else
// `fallback` (what each script used before), passed to connect() as its `containerd` option. As an unprivileged
// user: the user's own rootless containerd, which connect() picks by itself (the option must stay unset, and
// CONTAINERD_ADDRESS is ignored); it is started here if needed (test/rig/containerd.ts, as connect() does), so the
// bench's own ctr calls (cleanup, leftover checks) reach the same daemon through its socket.
import { loadRig } from "./svcd.mjs";

/** True when the bench runs as an unprivileged user (svcd's rootless mode). */
export const rootless = (process.getuid?.() ?? 0) !== 0;

/**
 * { address, option }: the socket for ctr, and what to spread into connect()'s options. `fallback` (root only) is
 * used when CONTAINERD_ADDRESS is unset; undefined lets connect() choose (then `address` is what it chooses).
 */
export async function svcdContainerd(fallback) {
  const given = process.env.CONTAINERD_ADDRESS?.replace(/^unix:\/\//, "");
  if (!rootless && (given || fallback)) {
    const address = given || fallback;
    return { address, option: { containerd: address } };
  }
  const { ensureContainerdForTests } = await loadRig("containerd");
  const { address } = await ensureContainerdForTests();
  return { address, option: {} };
}
