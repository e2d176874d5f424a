#!/usr/bin/env bash
# Makes this machine able to run svcd's VM (Vagrantfile), idempotently: Debian's vagrant, vagrant-libvirt, libvirt,
# qemu and the box builder's tools; then libvirt's daemons. Where no systemd runs them (no systemd as PID 1, as on
# CI here) it starts virtlogd and libvirtd itself and prints "started" on stdout, so the caller stops them again
# (`host.sh --stop`); else it prints nothing. Run as root.
set -euo pipefail
log() { printf 'vm-host: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root"

run_dir=/run/svcd-vm-host
if [ "${1:-}" = --stop ]; then
  for daemon in libvirtd virtlogd; do
    pidfile="$run_dir/$daemon.pid"
    [ -f "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$daemon" ]; then
      kill -TERM "$pid"
      # wait for it to go: its pidfile lock is released when it exits
      tail --pid="$pid" -f /dev/null
    fi
    rm -f "$pidfile"
  done
  exit 0
fi
[ $# -eq 0 ] || die "usage: host.sh [--stop]"

packages=(
  vagrant vagrant-libvirt libvirt-daemon-system libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils dnsmasq-base
  rsync openssh-client mmdebstrap dpkg-repack syslinux syslinux-common mtools dosfstools fdisk e2fsprogs
)
# shellcheck source=../lib/debian-packages.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/debian-packages.sh"
missing_packages "${packages[@]}"
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  apt_install "${missing[@]}" >/dev/null
fi

if [ -d /run/systemd/system ]; then
  systemctl start virtlogd.socket libvirtd.socket >/dev/null 2>&1 || systemctl start libvirtd.service
  exit 0
fi
# No systemd: the daemons by hand, each once (a running one is left alone and not stopped later).
mkdir -p "$run_dir"
started=
for daemon in virtlogd libvirtd; do
  if pgrep -x "$daemon" >/dev/null; then continue; fi
  "$daemon" --daemon --pid-file "$run_dir/$daemon.pid"
  started=1
done
# libvirtd is ready once its socket answers (its first start probes qemu's capabilities: seconds).
timeout 120 bash -c 'until virsh -c qemu:///system version >/dev/null 2>&1; do sleep 0.2; done' ||
  die "libvirtd does not answer on qemu:///system (see its log in /var/log/libvirt)"
[ -z "$started" ] || echo started
