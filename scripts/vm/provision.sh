#!/usr/bin/env bash
# Vagrant's provisioner (Vagrantfile), as root inside the VM: the same scripts/setup.sh CI runs (on the svcd/debian12
# box it finds every package installed, node_modules and the build current and the test images synced), then the
# daemon as production has it: the units installed, svcd.socket enabled and listening (svcd.service is started by
# the first connect, not here), and the rootless test users, lingering, with their own svcd.socket. Idempotent.
set -euo pipefail
cd /vagrant
log() { printf 'provision: %s\n' "$*" >&2; }

bash scripts/setup.sh
bash scripts/install-daemon.sh
systemctl daemon-reload
systemctl enable --now svcd.socket

bash scripts/rootless-users.sh
# Lingering starts the user's manager at boot and keeps it without a login: the user units serve from then on.
user=svcd-test
uid="$(id -u "$user")"
loginctl enable-linger "$user"
# enable-linger starts the manager without waiting; starting its unit waits until the manager is up (Type=notify).
systemctl start "user@$uid.service"
systemctl --user --machine="$user@" enable --now svcd.socket
log "svcd.socket listening for root (/run/svcd/svcd.sock) and for $user (/run/user/$uid/svcd/svcd.sock)"
