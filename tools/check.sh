#!/usr/bin/env bash
# Build the source tarball and run R CMD check on it (no PDF manual: no LaTeX here).
# Exits non-zero when the check reports an ERROR or WARNING.
set -uo pipefail
export PATH="$PATH:$HOME/.cargo/bin"
rm -rf check && mkdir -p check
R CMD build . >check/build.log 2>&1 || { cat check/build.log; exit 1; }
tarball=$(ls innsight_*.tar.gz | tail -n 1)
mv "$tarball" check/
(cd check && _R_CHECK_FORCE_SUGGESTS_=false R CMD check --no-manual "$tarball" >check.log 2>&1)
status=$(grep -E '^Status:' check/check.log || echo "Status: unknown")
echo "R CMD check: $status"
if grep -qE '^Status: .*(ERROR|WARNING)' check/check.log || ! grep -q '^Status:' check/check.log; then
  grep -E -B2 -A25 '(ERROR|WARNING)$' check/check.log | head -n 120
  exit 1
fi
grep -E -A10 'NOTE$' check/check.log | head -n 40 || true
exit 0
