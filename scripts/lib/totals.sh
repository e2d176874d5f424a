# Sourced by scripts that add up test runs' totals (.ci/run, scripts/vm/test-vm.sh): every run ends with one line
# `N passed, N failed[, N skipped]` (scripts/run-tests.mjs), and so does the script that sums them.
totals_passed=0 totals_failed=0 totals_skipped=0

# totals_add <file>: adds the last total line in <file> (carriage returns ignored); returns 1 when there is none.
totals_add() {
  local line
  line="$(tr -d '\r' <"$1" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n1 || true)"
  [[ "$line" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed ]] || return 1
  totals_passed=$((totals_passed + BASH_REMATCH[1]))
  totals_failed=$((totals_failed + BASH_REMATCH[2]))
  if [[ "$line" =~ ([0-9]+)\ skipped ]]; then totals_skipped=$((totals_skipped + BASH_REMATCH[1])); fi
  totals_last="$line"
}

# totals_line: the sum, as one total line.
totals_line() {
  local line="$totals_passed passed, $totals_failed failed"
  [ "$totals_skipped" -eq 0 ] || line="$line, $totals_skipped skipped"
  echo "$line"
}
