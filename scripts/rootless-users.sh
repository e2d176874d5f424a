#!/usr/bin/env bash
# Creates (idempotently) the unprivileged users the rootless test pass runs as, and prints nothing else but errors:
#   svcd-test, svcd-test2, svcd-test3  with subordinate uid/gid ranges (useradd allocates them: SUB_UID_COUNT in /etc/login.defs)
#   svcd-nosub             without any (useradd -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0), for the prerequisite error
# Only these users are ever added to /etc/subuid and /etc/subgid, and only by useradd when it creates them: no other
# user's entries are touched. Run as root (scripts/run-tests.mjs does, before the rootless pass).
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "rootless-users.sh: run as root" >&2; exit 1; }

has_range() { grep -q "^$1:" /etc/subuid && grep -q "^$1:" /etc/subgid; }

for user in svcd-test svcd-test2 svcd-test3; do
  if ! id -u "$user" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/bash --comment "svcd rootless tests" "$user"
  fi
  if ! has_range "$user"; then
    # A user made before ranges were configured: give it a free range of its own (above every range in use).
    next="$(cat /etc/subuid /etc/subgid 2>/dev/null | awk -F: 'BEGIN{m=100000} {e=$2+$3; if (e>m) m=e} END{print m}')"
    usermod --add-subuids "$next-$((next + 65535))" --add-subgids "$next-$((next + 65535))" "$user"
  fi
done
if ! id -u svcd-nosub >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash --comment "svcd rootless tests (no sub-ids)" -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 svcd-nosub
fi
