# Sourced by scripts/test-images.sh and scripts/vm/build-box.sh: the mmdebstrap options both make their Debian trees
# with — Release files of any age (a mirror's snapshot), no translations, and no docs (copyrights kept), man pages or
# locales. Both scripts hash this file into their cache keys.
debian_slim_opts=(
  --aptopt='Acquire::Check-Valid-Until "false"'
  --aptopt='Acquire::Languages "none"'
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/locale/*'
)
