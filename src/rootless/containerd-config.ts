// The managed containerd's config file, rendered as pure text from `Paths`, and the socket-path checks that must
// pass before containerd is started (a too-long path makes containerd fail with an unhelpful bind error).
import { isAbsolute } from "node:path";
import { InvalidArgumentError } from "../common/errors.js";
import type { Paths } from "../common/paths.js";

/**
 * Longest unix socket path containerd (Go) accepts: sun_path holds 108 bytes and Go insists on room for the NUL,
 * so 107 bytes of path.
 */
export const MAX_SOCKET_PATH_BYTES = 107;

/** containerd also listens on `<grpc address>.ttrpc`, so the gRPC address must leave room for this suffix. */
export const TTRPC_SUFFIX = ".ttrpc";

/** The CRI plugin is disabled: svcd speaks containerd's own API and needs no Kubernetes machinery. */
export const DISABLED_PLUGINS: readonly string[] = ["io.containerd.grpc.v1.cri"];

/** Throws InvalidArgumentError unless `address` (and its ttrpc sibling) fits a unix socket path. */
export function checkSocketPath(address: string): void {
  if (!isAbsolute(address)) {
    throw new InvalidArgumentError(`containerd socket path must be absolute: ${JSON.stringify(address)}`);
  }
  const bytes = Buffer.byteLength(address + TTRPC_SUFFIX, "utf8");
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    const room = MAX_SOCKET_PATH_BYTES - Buffer.byteLength(TTRPC_SUFFIX);
    throw new InvalidArgumentError(
      `containerd socket path ${address} is too long: unix socket paths are limited to 108 bytes ` +
        `(containerd needs ${address}${TTRPC_SUFFIX} too, so at most ${room} bytes); use a shorter runtime directory`,
    );
  }
}

/** Quotes a value as a TOML basic string; rejects control characters a path never needs. */
export function tomlString(value: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new InvalidArgumentError(`path holds a control character: ${JSON.stringify(value)}`);
  }
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** The config (version 2) of the managed containerd: its own root, state and socket; no CRI; no extra listeners. */
export function renderContainerdConfig(paths: Paths): string {
  for (const p of [paths.containerdRoot, paths.containerdState]) {
    if (!isAbsolute(p)) throw new InvalidArgumentError(`containerd directory must be absolute: ${JSON.stringify(p)}`);
  }
  checkSocketPath(paths.containerdSocket);
  // Top-level keys must precede every table in TOML. Metrics and debug listeners stay at their default (off);
  // ttrpc stays at its default address next to the gRPC socket.
  return [
    "# Written by svcd for its managed containerd; rewritten on every start.",
    "version = 2",
    `root = ${tomlString(paths.containerdRoot)}`,
    `state = ${tomlString(paths.containerdState)}`,
    `disabled_plugins = [${DISABLED_PLUGINS.map(tomlString).join(", ")}]`,
    "",
    "[grpc]",
    `  address = ${tomlString(paths.containerdSocket)}`,
    "",
  ].join("\n");
}
