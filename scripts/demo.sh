#!/usr/bin/env bash
# `npm run demo`: prepares the machine (idempotent; seconds when ready), then runs the seed example.
# The example pulls `python` and `busybox`; on a machine without internet access the test images are served by a
# local registry that this script starts, exactly as the tests do.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --import tsx scripts/demo.ts
