#!/usr/bin/env bash
# Inside the VM, as root (`npm run test:vm` runs it over `vagrant ssh`): the tests only a real systemd can show
# (test/vm: svcd.socket, socket activation, the seed demo through the daemon, the user units with lingering,
# `systemctl stop svcd` leaving nothing), first, before anything else connects; then integration tests:
#   SVCD_VM_SUITE=smoke (default)  a smoke set sized for software emulation (Node runs tens of times slower)
#   SVCD_VM_SUITE=full             the whole suite as `npm test` runs it (for a VM with working KVM)
# Ends with run-tests.mjs's one line `N passed, N failed[, N skipped]`.
set -euo pipefail
cd /vagrant
suite="${SVCD_VM_SUITE:-smoke}"
smoke=(
  test/integration/examples/hello.test.ts
  test/integration/services/up.test.ts
  test/integration/network/isolation.test.ts
  test/integration/cli/svc.test.ts
  test/integration/zz-no-leaks.test.ts
)
case "$suite" in
  smoke) exec node --import tsx scripts/run-tests.mjs test/vm "${smoke[@]}" ;;
  full) exec node --import tsx scripts/run-tests.mjs --rootless --daemon test/vm test/unit test/integration ;;
  *) echo "in-vm: SVCD_VM_SUITE must be smoke or full (got '$suite')" >&2; exit 2 ;;
esac
