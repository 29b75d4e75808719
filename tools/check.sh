#!/usr/bin/env bash
# Build the source tarball (with vendored crates: make tarball) and run
# R CMD check --as-cran on it, no PDF manual (no LaTeX here). The check runs in a
# network namespace with no network (tools/without-network.sh) and an empty
# CARGO_HOME, so its install of the tarball is also the offline install test;
# the checks that ask CRAN's servers are switched off for the same reason.
# Exits non-zero when the check reports an ERROR or WARNING, or a NOTE that
# cran-comments.md does not explain.
set -uo pipefail
export PATH="$PATH:$HOME/.cargo/bin"
rm -rf check && mkdir -p check/cargo-home
make --no-print-directory tarball >check/build.log 2>&1 || { cat check/build.log; exit 1; }
tarball=$(ls -t innsight_*.tar.gz | head -n 1)
mv "$tarball" check/
(cd check && bash ../tools/without-network.sh env CARGO_HOME="$PWD/cargo-home" CARGO_NET_OFFLINE=true \
  _R_CHECK_FORCE_SUGGESTS_=false _R_CHECK_CRAN_INCOMING_REMOTE_=false \
  R CMD check --as-cran --no-manual "$tarball" >check.log 2>&1)
status=$(grep -E '^Status:' check/check.log || echo "Status: unknown")
echo "R CMD check --as-cran (offline): $status"
grep -m1 'innsight: using' check/innsight.Rcheck/00install.out || true
if grep -qE '^Status: .*(ERROR|WARNING)' check/check.log || ! grep -q '^Status:' check/check.log; then
  grep -E -B2 -A25 '(ERROR|WARNING)$' check/check.log | head -n 120
  exit 1
fi
# every NOTE's check must be named in cran-comments.md
bad=0
while read -r line; do
  what=$(echo "$line" | sed -E 's/^\* checking (.*) \.\.\. NOTE$/\1/')
  if ! grep -qF "$what" cran-comments.md; then echo "NOTE not explained in cran-comments.md: $what"; bad=1; fi
done < <(grep -E '^\* checking .* \.\.\. NOTE$' check/check.log)
grep -E -A10 'NOTE$' check/check.log | head -n 40 || true
exit $bad
