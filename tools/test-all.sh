#!/usr/bin/env bash
# The whole test suite: Rust core tests, install, testthat, R CMD check.
# Ends with one plain line "N passed, N failed" counting every test.
set -uo pipefail
export PATH="$PATH:$HOME/.cargo/bin"
passed=0; failed=0; skipped=0
log=$(mktemp)

echo "== cargo test (innsight-core)"
(cd src/rust && cargo test -p innsight-core 2>&1) | tee "$log" | grep -E '^test result: |FAILED|panicked' || true
while read -r p f; do passed=$((passed + p)); failed=$((failed + f)); done < <(
  grep -E '^test result: ' "$log" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/')
if ! grep -q '^test result: ' "$log"; then echo "cargo test did not run"; failed=$((failed + 1)); fi

echo "== R CMD INSTALL"
if R CMD INSTALL --no-test-load . >"$log" 2>&1; then
  echo "installed"
  echo "== testthat"
  counts=$(mktemp)
  INNSIGHT_R_COUNTS="$counts" Rscript tools/run-tests.R 2>&1 | tail -n 40
  if [ -s "$counts" ]; then
    read -r p f s < "$counts"; passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  else
    echo "testthat did not report"; failed=$((failed + 1))
  fi
  echo "== R CMD check"
  if bash tools/check.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
else
  tail -n 40 "$log"; echo "R CMD INSTALL failed"; failed=$((failed + 1))
fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$failed" -eq 0 ]
