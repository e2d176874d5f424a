#!/usr/bin/env bash
# `npm run test:vm`: svcd's tests inside a Debian 12 VM where systemd is PID 1 (issue 12), as root on the host:
#   1. the host's tools (scripts/vm/host.sh: vagrant, vagrant-libvirt, qemu; libvirtd started if nothing runs it),
#      the project made ready on the host (scripts/setup.sh: node_modules, the build, the test images: all synced);
#   2. the box (scripts/vm/build-box.sh --add: built from Debian's archive, cached by its inputs);
#   3. KVM or TCG (scripts/vm/kvm-probe.sh: a timed boot of the box's kernel under KVM), `vagrant up`;
#   4. inside: scripts/vm/in-vm.sh (test/vm, then the smoke set; SVCD_VM_SUITE=full for the whole suite);
#   5. `vagrant destroy -f`, and the box's volume removed from libvirt's pool — also when interrupted — then checks
#      that no domain, volume or network of the VM is left.
# Ends with one line `N passed, N failed[, N skipped]`: the VM's tests plus this script's own checks (vagrant
# validate, nothing left behind). Times go to stderr, prefixed `test-vm: time`.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
log() { printf 'test-vm: %s\n' "$*" >&2; }
# shellcheck source=../lib/totals.sh
. scripts/lib/totals.sh
[ "$(id -u)" -eq 0 ] || { log "run as root (libvirt's system connection, the box build)"; exit 1; }

export VAGRANT_DEFAULT_PROVIDER=libvirt
export LIBVIRT_DEFAULT_URI=qemu:///system
# Vagrant's own checks for updates and plugin sources would try the internet.
export VAGRANT_CHECKPOINT_DISABLE=1 VAGRANT_BOX_UPDATE_CHECK_DISABLE=1
cache="${SVCD_VM_CACHE:-/var/cache/svcd/vm}"
domain=svcd-default
network=svcd-vm
# vagrant-libvirt uploads the box into the pool as svcd-VAGRANTSLASH-debian12_vagrant_box_image_<version>_<n>_box.img
box_volumes() { virsh vol-list --pool default 2>/dev/null | awk '$1 ~ /^svcd-VAGRANTSLASH-debian12_vagrant_box_image_/ { print $1 }'; }
remove_box_volumes() {
  local volume
  for volume in $(box_volumes); do virsh vol-delete --pool default "$volume" >/dev/null; done
}
check() { # check <name> <command...>: one of this script's own checks, counted
  local name="$1"
  shift
  if "$@"; then totals_passed=$((totals_passed + 1)); log "ok: $name"; else totals_failed=$((totals_failed + 1)); log "FAILED: $name"; fi
}
elapsed() { echo "$(($(date +%s) - $1)) s"; }
# Vagrant redraws progress lines with \r: keep the log to whole lines, without them.
quiet_progress() { tr '\r' '\n' | grep --line-buffered -v -e '^\s*$' -e 'Progress: ' || true; }

started_libvirt=
cleaned=
cleanup() {
  [ -z "$cleaned" ] || return 0
  cleaned=1
  if [ -f .vagrant/machines/default/libvirt/id ]; then vagrant destroy -f >&2 || log "vagrant destroy failed"; fi
  remove_box_volumes
}
interrupted() {
  log "interrupted: destroying the VM"
  cleanup
  if [ -n "$started_libvirt" ]; then bash scripts/vm/host.sh --stop; fi
  exit 130
}
trap interrupted INT TERM
trap cleanup EXIT

t0=$(date +%s)
started_libvirt="$(bash scripts/vm/host.sh)"
bash scripts/setup.sh
check "vagrant validate" vagrant validate
t_box=$(date +%s)
bash scripts/vm/build-box.sh --add 2>&1 >/dev/null | quiet_progress >&2
log "time: box ready in $(elapsed "$t_box")"
# A box volume left in the pool by an earlier build would be used instead of this build's image.
remove_box_volumes
kernel="$(ls "$cache"/*/vmlinuz | head -n1)"
SVCD_VM_DRIVER="$(bash scripts/vm/kvm-probe.sh "$kernel")"
export SVCD_VM_DRIVER
log "hypervisor: $SVCD_VM_DRIVER"
t_up=$(date +%s)
vagrant up --provider=libvirt 2>&1 | quiet_progress >&2
log "time: VM up and provisioned in $(elapsed "$t_up") ($SVCD_VM_DRIVER)"

t_tests=$(date +%s)
out="$(mktemp)"
status=0
vagrant ssh -c "sudo SVCD_VM_SUITE=${SVCD_VM_SUITE:-smoke} bash /vagrant/scripts/vm/in-vm.sh" -- -q 2>&1 | tee "$out" >&2 || status=$?
log "time: tests inside the VM in $(elapsed "$t_tests")"
if ! totals_add "$out"; then
  log "the VM's tests ended without their total line (exit $status)"
  totals_failed=$((totals_failed + 1))
fi
rm -f "$out"

t_down=$(date +%s)
cleanup
log "time: VM destroyed in $(elapsed "$t_down")"
check "no domain left" bash -c "! virsh dominfo $domain >/dev/null 2>&1"
check "no network left" bash -c "! virsh net-info $network >/dev/null 2>&1"
check "no volume left" bash -c "! virsh vol-list --pool default 2>/dev/null | grep -q svcd"
if [ -n "$started_libvirt" ]; then bash scripts/vm/host.sh --stop; started_libvirt=; fi
log "time: all in $(elapsed "$t0")"
totals_line
[ "$totals_failed" -eq 0 ]
