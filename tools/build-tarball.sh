#!/usr/bin/env bash
# Build the source tarball (innsight_<version>.tar.gz, in this folder) with the
# Rust crates' sources in it (tools/vendor.sh), so that it installs offline.
#
# R CMD build starts with `cp -LR` of the whole folder it is given, before
# .Rbuildignore is applied. In a working tree that is gigabytes of cargo's build
# folders, and it fails outright while a fuzzer adds and removes corpus files
# under src/rust/fuzz. So in a git checkout the package is built from a staging
# copy of the files git knows (tracked, or untracked and not ignored; as they are
# in the working tree, uncommitted changes included) plus the vendored crates;
# the fuzz crate is left out (.Rbuildignore leaves it out of the tarball anyway).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/vendor.sh
trap 'rm -f src/rust/vendor.tar.xz' EXIT
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  R CMD build . 2>&1 | tail -n 2
  exit "${PIPESTATUS[0]}"
fi
stage=$(mktemp -d)
trap 'rm -f src/rust/vendor.tar.xz; rm -rf "$stage"' EXIT
mkdir "$stage/innsight"
{ git ls-files -co --exclude-standard; echo src/rust/vendor.tar.xz; echo inst/AUTHORS; } |
  grep -v '^src/rust/fuzz/' | while IFS= read -r f; do [ -f "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf - | tar -C "$stage/innsight" -xf -
(cd "$stage" && R CMD build innsight 2>&1 | tail -n 2; exit "${PIPESTATUS[0]}")
mv "$stage"/innsight_*.tar.gz .
