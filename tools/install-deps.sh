#!/usr/bin/env bash
# Install everything innsight needs on a fresh Debian 12 machine: R and the R packages
# it imports and suggests (all from Debian), tools for R CMD check, and a check that
# Rust's cargo is present. Idempotent: skips apt when everything is installed.
# neuralnet (and its dependency Deriv) are not Debian packages: they are installed from
# source tarballs in ../shared/r-src (INNSIGHT_R_SRC to choose another folder) when
# present; without them the real-neuralnet tests skip.
set -euo pipefail
PKGS="r-base-dev r-cran-r6 r-cran-cli r-cran-jsonlite r-cran-testthat r-cran-ggplot2
  r-cran-data.table r-cran-knitr r-cran-rmarkdown r-cran-png r-cran-jpeg r-cran-gridextra
  r-cran-checkmate r-cran-plotly r-cran-roxygen2 r-cran-rcmdcheck r-cran-reticulate
  r-cran-hdf5r r-cran-vdiffr r-cran-bench r-cran-palmerpenguins r-cran-mass r-cran-future r-cran-parallelly r-cran-progressr r-cran-future.batchtools
  r-cran-batchtools qpdf tidy devscripts"
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
# neuralnet from the source tarballs next to the repository, if any (read-only there:
# R CMD INSTALL reads the tarball in place). Deriv first, neuralnet imports it.
R_SRC="${INNSIGHT_R_SRC:-$(cd "$(dirname "$0")/.." && pwd)/../shared/r-src}"
has_pkg() { Rscript -e "quit(status = !requireNamespace('$1', quietly = TRUE))" >/dev/null 2>&1; }
if ! has_pkg neuralnet; then
  deriv_tgz=$(ls "$R_SRC"/Deriv_*.tar.gz 2>/dev/null | tail -n 1 || true)
  nn_tgz=$(ls "$R_SRC"/neuralnet_*.tar.gz 2>/dev/null | tail -n 1 || true)
  if [ -n "$nn_tgz" ] && { has_pkg Deriv || [ -n "$deriv_tgz" ]; }; then
    echo "== installing neuralnet from $R_SRC"
    ok=1
    if ! has_pkg Deriv; then
      R CMD INSTALL "$deriv_tgz" >/dev/null 2>&1 || ok=0
    fi
    [ "$ok" -eq 1 ] && { R CMD INSTALL "$nn_tgz" >/dev/null 2>&1 || ok=0; }
    [ "$ok" -eq 1 ] || echo "warning: installing neuralnet failed; its tests will be skipped" >&2
  fi
fi
export PATH="$PATH:$HOME/.cargo/bin"
if ! command -v cargo >/dev/null; then
  echo "error: cargo (Rust) is required; install it with rustup" >&2
  exit 1
fi
echo "== $(R --version | head -1); $(cargo --version)"
