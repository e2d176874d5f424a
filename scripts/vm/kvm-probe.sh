#!/usr/bin/env bash
# Prints "kvm" when a KVM guest really runs on this machine, else "qemu" (software emulation, TCG).
#   kvm-probe.sh <kernel> [deadline-seconds, default 15]
# Opening /dev/kvm is not proof: on some hosts KVM_CREATE_VM succeeds but nested guests hang or qemu aborts. The
# probe boots <kernel> (the box's) under KVM with no root device and panic=-1: a guest that runs reaches the
# "VFS: Unable to mount root fs" panic within a second or two and qemu exits (-no-reboot). No output by the
# deadline, or qemu failing, means qemu. Diagnostics go to stderr.
set -euo pipefail
kernel="${1:?usage: kvm-probe.sh <kernel> [deadline-seconds]}"
deadline="${2:-15}"
say() { printf 'kvm-probe: %s\n' "$*" >&2; }

if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then say "/dev/kvm is not usable here"; echo qemu; exit 0; fi
command -v qemu-system-x86_64 >/dev/null || { say "qemu-system-x86_64 is missing"; echo qemu; exit 0; }
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
started=$SECONDS
status=0
timeout --kill-after=2 "$deadline" qemu-system-x86_64 -machine accel=kvm -cpu host -m 256 -nodefaults \
  -display none -no-reboot -serial "file:$log" -kernel "$kernel" -append "console=ttyS0 panic=-1 quiet" \
  >/dev/null 2>&1 || status=$?
if grep -qE 'Kernel panic|VFS: ' "$log"; then
  say "a KVM guest booted to its kernel's panic in $((SECONDS - started)) s"
  echo kvm
elif [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  say "a KVM guest printed nothing in ${deadline} s (it hangs): software emulation"
  echo qemu
else
  say "qemu under KVM failed (exit $status) before the guest ran: software emulation"
  echo qemu
fi
