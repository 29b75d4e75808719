#!/usr/bin/env bash
# Install everything innsight needs on a fresh Debian 12 machine: R and the R packages
# it imports and suggests (all from Debian), tools for R CMD check, and a check that
# Rust's cargo is present. Idempotent: skips apt when everything is installed.
set -euo pipefail
PKGS="r-base-dev r-cran-r6 r-cran-cli r-cran-jsonlite r-cran-testthat r-cran-ggplot2
  r-cran-data.table r-cran-knitr r-cran-rmarkdown r-cran-png r-cran-jpeg r-cran-gridextra
  r-cran-checkmate r-cran-plotly r-cran-roxygen2 r-cran-rcmdcheck r-cran-reticulate
  r-cran-hdf5r r-cran-vdiffr r-cran-bench r-cran-palmerpenguins qpdf tidy"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "== installing from Debian:$missing"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
export PATH="$PATH:$HOME/.cargo/bin"
if ! command -v cargo >/dev/null; then
  echo "error: cargo (Rust) is required; install it with rustup" >&2
  exit 1
fi
echo "== $(R --version | head -1); $(cargo --version)"
