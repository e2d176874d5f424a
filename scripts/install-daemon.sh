#!/usr/bin/env bash
# Installs svcd's daemon for systemd from this checkout: /usr/local/bin/svcd (a launcher for dist/cli/svcd.js), the
# system units (svcd.socket + svcd.service), the user units (for `systemctl --user enable --now svcd.socket`), the
# sysusers.d file that creates the group svcd, and docs/daemon.md. Starts nothing (no systemd runs here; the VM
# enables the units). Idempotent. `--uninstall` removes all of it.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { printf 'install-daemon: %s\n' "$*" >&2; }
[ "$(id -u)" -eq 0 ] || { log "run as root"; exit 1; }

bin=/usr/local/bin/svcd
system_units=/etc/systemd/system
user_units=/etc/systemd/user
sysusers=/etc/sysusers.d/svcd.conf
doc=/usr/local/share/doc/svcd/daemon.md

if [ "${1:-}" = --uninstall ]; then
  rm -f "$bin" "$system_units/svcd.socket" "$system_units/svcd.service" "$user_units/svcd.socket" "$user_units/svcd.service" "$sysusers" "$doc"
  log "removed"
  exit 0
fi
[ $# -eq 0 ] || { log "usage: install-daemon.sh [--uninstall]"; exit 2; }
[ -f "$repo/dist/cli/svcd.js" ] || { log "build first: npm run build (dist/cli/svcd.js is missing)"; exit 1; }

entry="$repo/dist/cli/svcd.js"
tmp="$(mktemp)"
# %q quotes the path for the shell: any directory name is safe in the launcher.
printf '#!/bin/sh\n# svcd launcher, written by %s\nexec node --max-semi-space-size=1 %q "$@"\n' "$repo/scripts/install-daemon.sh" "$entry" >"$tmp"
install -m 0755 "$tmp" "$bin"
rm -f "$tmp"
install -d -m 0755 "$system_units" "$user_units" /etc/sysusers.d "$(dirname "$doc")"
install -m 0644 "$repo/packaging/systemd/svcd.socket" "$repo/packaging/systemd/svcd.service" "$system_units/"
install -m 0644 "$repo/packaging/systemd/user/svcd.socket" "$repo/packaging/systemd/user/svcd.service" "$user_units/"
install -m 0644 "$repo/packaging/sysusers.d/svcd.conf" "$sysusers"
install -m 0644 "$repo/docs/daemon.md" "$doc"
getent group svcd >/dev/null || groupadd --system svcd
log "installed $bin, the units in $system_units and $user_units, $sysusers"
log "enable: systemctl daemon-reload && systemctl enable --now svcd.socket (users: systemctl --user enable --now svcd.socket)"
