#!/usr/bin/env bash
# Builds the Vagrant box the VM runs (libvirt provider), from Debian's archive only — no box registry is reachable:
#   mmdebstrap bookworm + a kernel, systemd, openssh, the vagrant user with Vagrant's insecure key, every package
#   scripts/setup.sh installs, and Node.js (this machine's own nodejs package, repacked with dpkg-repack, and its npm:
#   Debian 12's nodejs is 18 and the host's 20 came from an apt source neither machine reaches now);
#   a disk made from that tree without loop devices or mounts (SYSLINUX on a FAT boot partition, ext4 root), as qcow2.
# Cached under $SVCD_VM_CACHE (default /var/cache/svcd/vm)/<key>/svcd-debian12.box; <key> hashes this script, the
# files it puts in the box, the package list, the apt sources and the host's nodejs version. A cached key does
# nothing. Prints the box's path on stdout (logs go to stderr). `--add` also adds it to Vagrant as svcd/debian12
# when Vagrant does not hold this very build.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${SVCD_VM_CACHE:-/var/cache/svcd/vm}"
box_name=svcd/debian12
sources=/etc/apt/sources.list.d/debian.sources
disk_size=16G

log() { printf 'build-box: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=../lib/debian-slim.sh
. "$here/../lib/debian-slim.sh"

add=
case "${1:-}" in
  --add) add=1 ;;
  "") ;;
  *) die "usage: build-box.sh [--add]" ;;
esac
[ "$(id -u)" -eq 0 ] || die "run as root (mmdebstrap and the image's ownership need it)"
for tool in mmdebstrap mkfs.ext4 mkfs.vfat mcopy syslinux sfdisk qemu-img dpkg-repack tar sha256sum flock; do
  command -v "$tool" >/dev/null || die "$tool is missing: run scripts/vm/host.sh"
done
command -v node >/dev/null || die "node is missing"
vagrant_key="$(dpkg -L vagrant 2>/dev/null | grep '/keys/vagrant.pub$' | head -n1 || true)"
[ -n "$vagrant_key" ] && [ -f "$vagrant_key" ] || die "Vagrant's insecure public key not found (is vagrant installed?)"

mapfile -t packages < <(bash "$repo/scripts/setup.sh" --list-packages)
# What the VM needs beyond setup.sh's list: to boot (Debian's cloud kernel: virtio, netfilter, bridges, overlayfs,
# without the drivers for hardware a VM never has — a third of the size, and the box is uploaded on every `up`), to be reached by Vagrant (ssh, sudo, rsync for the synced
# folder), user managers with a bus for `systemctl --user` and lingering.
base=(
  linux-image-cloud-amd64 initramfs-tools systemd-sysv udev kmod dbus dbus-user-session libpam-systemd
  openssh-server sudo rsync ca-certificates procps less
)
node_version="$(dpkg-query -W -f='${Version}' nodejs)"
npm_version="$(npm --version)"

key="$(
  {
    cat "${BASH_SOURCE[0]}" "$here/box/"* "$here/../lib/debian-slim.sh"
    printf '%s\n' "${packages[@]}" "${base[@]}" "nodejs=$node_version" "npm=$npm_version" "$(dpkg --print-architecture)"
    if [ -f "$sources" ]; then cat "$sources"; fi
    cat "$vagrant_key"
  } | sha256sum | cut -c1-16
)"
out="$cache/$key"
box="$out/svcd-debian12.box"

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

if [ -f "$out/complete" ]; then
  log "up to date ($box)"
else
  started=$SECONDS
  work="$cache/.build-$key"
  rm -rf "$work"
  mkdir -p "$work/debs"
  trap 'rm -rf "$work"' EXIT
  log "repacking this machine's nodejs $node_version"
  # npm may have been upgraded in place since the package was installed (dpkg-repack then warns of every file
  # it no longer finds): the box gets node from the package and this machine's npm tree as it is now.
  (cd "$work/debs" && dpkg-repack nodejs >"$work/dpkg-repack.log" 2>&1) || { cat "$work/dpkg-repack.log" >&2; die "dpkg-repack nodejs failed"; }
  mv "$work"/debs/nodejs_*.deb "$work/debs/nodejs.deb"

  mirror=()
  # The VM's apt sources are the host's, file for file: scripts/test-images.sh keys the test images on them, so
  # the images synced from the host are the VM's own (nothing to rebuild there, where no archive is reachable).
  sources_hook=:
  if [ -f "$sources" ]; then
    mirror=("$sources")
    sources_hook="set -e; rm -f \"\$1/etc/apt/sources.list\" \"\$1\"/etc/apt/sources.list.d/*; cp $sources \"\$1/etc/apt/sources.list.d/\""
  fi
  include="$(IFS=,; echo "${base[*]},${packages[*]}")"
  log "mmdebstrap bookworm with ${#base[@]} + ${#packages[@]} packages (a few minutes)"
  # The policy-rc.d hook keeps package scripts from starting services in the chroot (mariadb among them).
  mmdebstrap --variant=minbase --include="$include" --format=directory \
    "${debian_slim_opts[@]}" \
    --essential-hook='printf "#!/bin/sh\nexit 101\n" >"$1/usr/sbin/policy-rc.d"; chmod 0755 "$1/usr/sbin/policy-rc.d"' \
    --customize-hook="copy-in $work/debs/nodejs.deb /tmp" \
    --customize-hook='set -e; chroot "$1" apt-get install -y -qq --no-install-recommends /tmp/nodejs.deb >/dev/null; rm -f "$1/tmp/nodejs.deb"' \
    --customize-hook='set -e; rm -rf "$1/usr/lib/node_modules/npm"; mkdir -p "$1/usr/lib/node_modules"; cp -a /usr/lib/node_modules/npm "$1/usr/lib/node_modules/npm"' \
    --customize-hook="copy-in $vagrant_key /tmp" \
    --customize-hook="copy-in $here/box /tmp" \
    --customize-hook='set -e; chroot "$1" bash /tmp/box/configure.sh; rm -rf "$1/tmp/box" "$1/tmp/vagrant.pub"' \
    --customize-hook='rm -f "$1/usr/sbin/policy-rc.d"' \
    --customize-hook="$sources_hook" \
    bookworm "$work/root" "${mirror[@]}"

  log "making the disk ($disk_size: a FAT boot partition with SYSLINUX, ext4 root; qcow2)"
  # Built without loop devices or mounts: each file system is made in place (mkfs.ext4 -d at an offset; the FAT
  # one in a file of its own, filled with mtools, then copied in), the MBR from SYSLINUX's mbr.bin.
  truncate -s "$disk_size" "$work/disk.raw"
  boot_start=2048 boot_sectors=524288 # 1 MiB .. 257 MiB
  root_start=$((boot_start + boot_sectors))
  printf 'label: dos\nstart=%s, size=%s, type=c, bootable\nstart=%s, type=83\n' "$boot_start" "$boot_sectors" "$root_start" |
    sfdisk --quiet "$work/disk.raw"
  total_kib=$(($(stat -c %s "$work/disk.raw") / 1024))
  mkfs.ext4 -q -L svcd-root -d "$work/root" -E offset=$((root_start * 512)) "$work/disk.raw" "$((total_kib - root_start / 2))k"
  truncate -s $((boot_sectors * 512)) "$work/boot.fat"
  mkfs.vfat -F 32 -n SVCDBOOT "$work/boot.fat" >/dev/null
  cat >"$work/syslinux.cfg" <<'EOF_CFG'
DEFAULT svcd
PROMPT 0
TIMEOUT 0
LABEL svcd
  LINUX /vmlinuz
  INITRD /initrd.img
  APPEND root=LABEL=svcd-root rw console=tty0 console=ttyS0,115200 net.ifnames=0 quiet
EOF_CFG
  mcopy -i "$work/boot.fat" "$work"/root/boot/vmlinuz-* ::/vmlinuz
  mcopy -i "$work/boot.fat" "$work"/root/boot/initrd.img-* ::/initrd.img
  mcopy -i "$work/boot.fat" "$work/syslinux.cfg" ::/syslinux.cfg
  syslinux --install "$work/boot.fat"
  dd if="$work/boot.fat" of="$work/disk.raw" bs=512 seek="$boot_start" conv=notrunc,sparse status=none
  dd if=/usr/lib/syslinux/mbr/mbr.bin of="$work/disk.raw" bs=440 count=1 conv=notrunc status=none
  # The kernel also stays beside the box: scripts/vm/kvm-probe.sh boots it to learn whether KVM guests run here.
  mkdir -p "$work/out"
  cp "$work"/root/boot/vmlinuz-* "$work/out/vmlinuz"
  rm -rf "$work/root" "$work/boot.fat"
  # Compressed (zstd): vagrant-libvirt uploads the image into libvirt's pool through a stream on every first `up`,
  # which costs far more per byte than qemu's reads of compressed clusters of a base image.
  qemu-img convert -c -f raw -O qcow2 -o compression_type=zstd "$work/disk.raw" "$work/box.img"
  rm -f "$work/disk.raw"
  virtual_gb="${disk_size%G}"
  printf '{"provider":"libvirt","format":"qcow2","virtual_size":%s}\n' "$virtual_gb" >"$work/metadata.json"
  cp "$here/box-Vagrantfile" "$work/Vagrantfile"
  echo "$key" >"$work/build-key"
  # Uncompressed: the image is sparse qcow2 already, and gzip would cost more than it saves on local disks.
  tar -C "$work" -cf "$work/out/svcd-debian12.box" metadata.json Vagrantfile box.img build-key
  touch "$work/out/complete"
  rm -rf "$out"
  mv "$work/out" "$out"
  rm -rf "$work"
  trap - EXIT
  for old in "$cache"/*; do
    name="$(basename "$old")"
    if [ "$name" != "$key" ] && [[ "$name" =~ ^[0-9a-f]{16}$ ]]; then rm -rf "$old"; fi
  done
  log "built $box in $((SECONDS - started)) s ($(du -h "$box" | cut -f1))"
fi

if [ -n "$add" ]; then
  held="$(vagrant box list --machine-readable 2>/dev/null | grep -c ",box-name,$box_name\$" || true)"
  stamp="${VAGRANT_HOME:-$HOME/.vagrant.d}/boxes/${box_name//\//-VAGRANTSLASH-}/0/libvirt/build-key"
  if [ "$held" -gt 0 ] && [ "$(cat "$stamp" 2>/dev/null || true)" = "$key" ]; then
    log "vagrant holds $box_name from this build"
  else
    log "vagrant box add $box_name"
    vagrant box add --force --name "$box_name" "$box" >&2
  fi
fi
echo "$box"
