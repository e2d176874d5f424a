#!/usr/bin/env bash
# The Debian packages the peers' side of the benchmarks needs (../shared/bench-peers: raw ctr + CNI, podman), beside
# what scripts/setup.sh installs for svcd itself. Idempotent: on a ready machine it checks and returns. Not part of
# `npm test`: only `node bench/services.mjs` and friends use the peers (bench/lib/peers.mjs names what is missing).
set -euo pipefail

log() { printf 'setup-peers: %s\n' "$*" >&2; }

# podman's configuration in bench-peers uses netavark (and aardvark-dns for its DNS): without them podman fails
# with 'could not find "netavark"'.
packages=(podman netavark aardvark-dns conmon crun skopeo umoci hyperfine jq busybox-static iproute2 containerd
  containernetworking-plugins)
# shellcheck source=../scripts/lib/debian-packages.sh
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/debian-packages.sh"
missing_packages "${packages[@]}"
if [ "${#missing[@]}" -eq 0 ]; then
  log "peer packages present"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || { log "error: missing ${missing[*]}: run as root (sudo bash bench/setup-peers.sh)"; exit 1; }
log "installing ${missing[*]}"
apt_install "${missing[@]}"
