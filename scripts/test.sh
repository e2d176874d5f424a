#!/usr/bin/env bash
# What `npm test` runs: make the machine ready (idempotent), then every unit test and every integration test, with
# coverage. The last line printed is the total: `N passed, N failed[, N skipped]`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
# run-tests.mjs runs each file under NODE_V8_COVERAGE and prints c8's summary before its total line.
# --rootless: the integration tests also run as an unprivileged user, beside these (scripts/rootless-pass.mjs).
# --daemon: api, services, network and examples run again through svcd's daemon, in both (scripts/daemon-pass.mjs).
exec node --import tsx scripts/run-tests.mjs --coverage --rootless --daemon test/unit test/integration
