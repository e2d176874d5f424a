#!/usr/bin/env bash
# Makes this machine ready to build and test svcd: Debian packages, npm dependencies, the TypeScript build and the
# test images. Idempotent: on a ready machine it checks and returns in seconds (no apt, no npm ci, no rebuild).
# Root is needed only for what is missing: on a ready machine a user may run it too (and so `npm test`, which then
# runs the integration tests on that user's own rootless engine).
# Must run as root on Debian 12 (rootless mode will need root only for this script).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

log() { printf 'setup: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- Debian packages -------------------------------------------------------------------------------------------
packages=(
  containerd runc containernetworking-plugins rootlesskit slirp4netns uidmap busybox-static tini mmdebstrap
  docker-registry skopeo iproute2 util-linux nftables golang-github-containerd-containerd-dev
  # the MariaDB host-service test starts its own private mariadbd (test/integration/services/mariadb.test.ts)
  mariadb-server
  # systemd-analyze verifies the daemon's units (test/unit/systemd-units.test.ts); no systemd runs here
  systemd
  # build/svcd-splice and build/svcd-netns, the native helpers (src/*/native/*.c)
  gcc libc6-dev
)
# `setup.sh --list-packages`: the list, one a line, and nothing else (the VM's box installs the same, scripts/vm).
if [ "${1:-}" = --list-packages ]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi
[ $# -eq 0 ] || die "usage: setup.sh [--list-packages]"

# --- the machine -----------------------------------------------------------------------------------------------
as_root=
[ "$(id -u)" -ne 0 ] || as_root=1
need_root() { [ -n "$as_root" ] || die "$1: run as root (sudo bash scripts/setup.sh) to make it"; }
# shellcheck disable=SC1091
os_id="$(. /etc/os-release 2>/dev/null && echo "${ID:-}")"
os_version="$(. /etc/os-release 2>/dev/null && echo "${VERSION_ID:-}")"
[ "$os_id" = debian ] && [ "$os_version" = 12 ] ||
  die "svcd's setup supports Debian 12 (bookworm); this is ${os_id:-unknown} ${os_version:-?}"
command -v node >/dev/null || die "Node.js 20 or later is required (node not found)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "Node.js 20 or later is required (found $(node --version))"
command -v npm >/dev/null || die "npm is required (it comes with Node.js)"

# --- Debian packages (the list is at the top) -------------------------------------------------------------------
# shellcheck source=lib/debian-packages.sh
. "$repo/scripts/lib/debian-packages.sh"
missing_packages "${packages[@]}"
if [ "${#missing[@]}" -gt 0 ]; then
  need_root "Debian packages missing (${missing[*]})"
  log "installing ${missing[*]}"
  # mariadb-server starts a system-wide server on install where an init system runs; the tests start their own
  # (private port, socket and datadir), so for the length of this install policy-rc.d (honoured by invoke-rc.d and
  # deb-systemd-invoke) refuses that one service and allows every other. An existing policy-rc.d is left alone.
  policy=/usr/sbin/policy-rc.d
  own_policy=
  if [ ! -e "$policy" ]; then
    cat >"$policy" <<'EOF_POLICY'
#!/bin/sh
# svcd scripts/setup.sh, for one apt-get install: MariaDB's system server is not started (the tests run their own).
# usage per invoke-rc.d(8): policy-rc.d [--quiet] [--list] <initscript ID> <actions>
for arg; do case "$arg" in --*) ;; *) id="$arg"; break ;; esac; done
case "${id:-}" in mariadb | mariadb.service | mysql | mysql.service) exit 101 ;; esac
exit 0
EOF_POLICY
    chmod 0755 "$policy"
    own_policy=1
    trap 'rm -f "$policy"' EXIT
  fi
  apt_install "${missing[@]}"
  if [ -n "$own_policy" ]; then rm -f "$policy"; trap - EXIT; fi
else
  log "Debian packages present"
fi

# --- the svcd group ---------------------------------------------------------------------------------------------
# Members may use the root daemon's socket (/run/svcd/svcd.sock, 0660): root-equivalent, like docker's group. The
# root daemon refuses to start without it (packaging/sysusers.d/svcd.conf makes it where systemd-sysusers runs).
if ! getent group svcd >/dev/null; then
  need_root "the group svcd is missing"
  log "creating the system group svcd"
  groupadd --system svcd
fi

# --- npm dependencies ------------------------------------------------------------------------------------------
# npm ci writes node_modules/.package-lock.json; older than package-lock.json means the tree is stale.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund
else
  log "node_modules up to date"
fi
# tsx runs every test; esbuild's platform binary comes as an optional dependency even when install scripts are
# held back, so check that it really works rather than trusting npm's warnings.
probe="$(mktemp --suffix=.ts)"
echo 'const n: number = 1; if (n !== 1) process.exit(1);' >"$probe"
if ! node --import tsx "$probe" >/dev/null; then
  rm -f "$probe"
  die "tsx does not work after npm ci (esbuild's platform package missing?): rm -rf node_modules and retry"
fi
rm -f "$probe"

# --- build -----------------------------------------------------------------------------------------------------
# Rebuild (proto types + tsc) when anything the build reads is newer than the last successful build.
stamp=dist/.build-stamp
if [ ! -f "$stamp" ] || [ -n "$(find src protos package.json package-lock.json tsconfig.json -newer "$stamp" \
  -not -path 'src/containerd/gen/*' -print -quit 2>/dev/null)" ]; then
  log "npm run build"
  npm run build --silent
  mkdir -p dist
  touch "$stamp"
else
  log "build up to date"
fi

# --- the native helpers ------------------------------------------------------------------------------------------
# build/svcd-splice carries TCP forwards' bytes with splice(2) (src/forward/native/svcd-splice.c); without it the
# forward agent pipes them in Node. build/svcd-netns makes a container's netns file in one process
# (src/network/native/svcd-netns.c); without it, unshare → sh → ip do. Both issue 13. Each is rebuilt when its
# source is newer; build/ is not committed.
for pair in src/forward/native/svcd-splice.c:build/svcd-splice src/network/native/svcd-netns.c:build/svcd-netns; do
  helper_src="${pair%%:*}" helper="${pair#*:}"
  if [ ! -x "$helper" ] || [ "$helper_src" -nt "$helper" ]; then
    command -v gcc >/dev/null || die "gcc is needed to build $helper (apt-get install gcc)"
    log "building $helper"
    mkdir -p build
    gcc -O2 -Wall -Wextra -Werror -o "$helper.tmp" "$helper_src"
    mv -f "$helper.tmp" "$helper"
    chmod 0755 "$helper"
  else
    log "$helper up to date"
  fi
done

# --- the commands ------------------------------------------------------------------------------------------------
# `svc` and `svcd` on PATH for the README's walkthrough: symlinks to this checkout's build (what `npm link` would
# make, without touching npm's global tree). An existing command of another origin is left alone, and said.
for bin in svc svcd; do
  target="$repo/dist/cli/$bin.js"
  link="/usr/local/bin/$bin"
  if [ "$(readlink "$link" 2>/dev/null)" = "$target" ]; then
    :
  elif [ -z "$as_root" ]; then
    log "$link is not this checkout's $bin: left alone (not root)"
  elif [ -L "$link" ] || [ ! -e "$link" ]; then
    ln -sfn "$target" "$link"
    log "$link -> $target"
  else
    log "$link exists and is not ours: left alone (run $target directly)"
  fi
done

# --- test images -----------------------------------------------------------------------------------------------
bash "$repo/scripts/test-images.sh"
log "ready"
