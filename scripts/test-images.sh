#!/usr/bin/env bash
# Builds the OCI image layouts the tests push into their local registry — without any internet registry:
#   busybox  from Debian's busybox-static (seconds)
#   python          Debian bookworm + python3 + python-is-python3 via mmdebstrap, from the machine's apt sources (~1 min)
#   mariadb-client  Debian bookworm + mariadb-client-core (the `mariadb` CLI) via mmdebstrap, likewise (~1 min)
# Cached under $SVCD_IMAGE_CACHE (default /var/cache/svcd/images)/<key>/<image>, where <key> hashes this
# script, scripts/oci-layout.mjs, the package versions that go into the images and the apt sources; <cache>/current
# points at the newest complete set. A run whose key is already built does nothing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${SVCD_IMAGE_CACHE:-/var/cache/svcd/images}"
sources=/etc/apt/sources.list.d/debian.sources
arch="$(dpkg --print-architecture)"
image_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

log() { printf 'test-images: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=lib/debian-slim.sh
. "$here/lib/debian-slim.sh"

for tool in /bin/busybox mmdebstrap tar flock sha256sum node; do
  command -v "$tool" >/dev/null || die "$tool is missing: run scripts/setup.sh"
done

key="$(
  {
    cat "${BASH_SOURCE[0]}" "$here/oci-layout.mjs" "$here/lib/debian-slim.sh"
    dpkg-query -W -f='${Package}=${Version}\n' busybox-static mmdebstrap
    echo "$arch"
    if [ -f "$sources" ]; then cat "$sources"; fi
  } | sha256sum | cut -c1-16
)"

# Up to date: nothing to write, so anyone may ask (setup.sh as a user on a ready machine).
if [ "$(id -u)" -ne 0 ]; then
  [ -f "$cache/$key/complete" ] && [ "$(readlink "$cache/current" 2>/dev/null || true)" = "$key" ] ||
    die "the test images are missing or stale: run as root to build them (mmdebstrap and image ownership need it)"
  log "up to date ($cache/$key)"
  exit 0
fi
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

if [ -f "$cache/$key/complete" ] && [ "$(readlink "$cache/current" 2>/dev/null || true)" = "$key" ]; then
  log "up to date ($cache/$key)"
  exit 0
fi

work="$cache/.build-$key"
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

# --- busybox ---------------------------------------------------------------------------------------------------
log "building busybox"
root="$work/busybox-root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,proc,sys,dev,tmp}
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
cp /bin/busybox "$root/bin/busybox"
chmod 0755 "$root/bin/busybox"
while read -r applet; do
  [ -n "$applet" ] && [ "$applet" != "bin/busybox" ] || continue
  mkdir -p "$root/$(dirname "$applet")"
  [ -e "$root/$applet" ] || [ -L "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done < <(/bin/busybox --list-full)
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$root/etc/passwd"
printf '%s\n' 'root:x:0:' 'nobody:x:65534:' >"$root/etc/group"
chmod 0644 "$root/etc/passwd" "$root/etc/group"
# Entries without a leading "./", owned by root, with fixed mtimes: the same inputs give the same layer digest.
(cd "$root" && tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$work/busybox.tar" -- *)
node "$here/oci-layout.mjs" --tar "$work/busybox.tar" --out "$work/out/busybox" --tag latest --arch "$arch" \
  --cmd '["sh"]' --env "PATH=$image_path"
rm -rf "$root" "$work/busybox.tar"

# --- Debian-based images ----------------------------------------------------------------------------------------
mirror=()
if [ -f "$sources" ]; then mirror=("$sources"); fi

# debian_image <name> <packages,comma,separated> <cmd-json>: a bookworm minbase rootfs with those packages, as a
# one-layer OCI layout in $work/out/<name>. Docs, man pages and locales are left out to keep it small.
debian_image() {
  local name="$1" include="$2" cmd="$3"
  local started=$SECONDS
  log "building $name (mmdebstrap bookworm + $include, about a minute)"
  mmdebstrap --variant=minbase --include="$include" --format=tar \
    "${debian_slim_opts[@]}" \
    --customize-hook='rm -f "$1/etc/resolv.conf" "$1/etc/hostname"' \
    bookworm "$work/$name.tar" "${mirror[@]}"
  # Device nodes are the runtime's business (and cannot be created in a user namespace): keep /dev empty.
  # (grep reads all of tar's output: `grep -q` would exit early, SIGPIPE tar and fail the pipeline under pipefail)
  if tar -tf "$work/$name.tar" | grep '^\./dev/.' >/dev/null; then
    tar --delete -f "$work/$name.tar" --wildcards './dev/?*'
  fi
  node "$here/oci-layout.mjs" --tar "$work/$name.tar" --out "$work/out/$name" --tag latest --arch "$arch" \
    --cmd "$cmd" --env "PATH=$image_path"
  rm -f "$work/$name.tar"
  log "$name built in $((SECONDS - started)) s"
}

debian_image python python3,python-is-python3 '["python3"]'
# mariadb-client-core holds the `mariadb` client without the Perl tools mariadb-client drags in.
debian_image mariadb-client mariadb-client-core '["mariadb"]'

# --- publish ---------------------------------------------------------------------------------------------------
touch "$work/out/complete"
rm -rf "${cache:?}/$key"
mv "$work/out" "$cache/$key"
ln -sfn "$key" "$cache/.current.tmp"
mv -Tf "$cache/.current.tmp" "$cache/current"
for old in "$cache"/*; do
  name="$(basename "$old")"
  if [ "$name" != "$key" ] && [ "$name" != current ] && [[ "$name" =~ ^[0-9a-f]{16}$ ]]; then rm -rf "$old"; fi
done
log "done: $cache/current -> $key"
