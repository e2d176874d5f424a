# Sourced by scripts/setup.sh, scripts/vm/host.sh and bench/setup-peers.sh: which Debian packages of a list are not
# installed yet, and installing them from the configured archive.

# missing_packages PKG…: sets the array `missing` to the PKGs dpkg does not list as installed.
missing_packages() {
  missing=()
  local pkg
  for pkg in "$@"; do
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)" = installed ] || missing+=("$pkg")
  done
}

# apt_install PKG…: installs the PKGs, non-interactive and without recommends (after an index update).
apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}
