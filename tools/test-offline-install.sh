#!/usr/bin/env bash
# Shows that the source tarball installs with no network: the tarball (built
# with vendored crates by `make tarball`, or given as $1) is installed into a
# temporary library inside a network namespace with only a loopback
# (tools/without-network.sh, root only), with an empty CARGO_HOME and
# CARGO_NET_OFFLINE=true, so neither cargo's cache nor the network can help.
# Then the installed package runs a small Gradient and reads back its model file.
# Also checks that configure stops with its message when rustc is too old.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:$HOME/.cargo/bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

tarball=${1:-}
if [ -z "$tarball" ]; then
  make --no-print-directory tarball >/dev/null
  tarball=$(ls -t innsight_*.tar.gz | head -n 1)
fi
# (the listing goes to a file: `grep -q` closing the pipe early would make tar
# die of SIGPIPE, and pipefail would count that as no match)
tar -tzf "$tarball" >"$work/contents"
grep -qx 'innsight/src/rust/vendor.tar.xz' "$work/contents" ||
  { echo "FAIL: $tarball carries no src/rust/vendor.tar.xz (make it with make tarball)"; exit 1; }

net=(bash tools/without-network.sh)
mkdir -p "$work/lib" "$work/cargo-home"
if ! "${net[@]}" env CARGO_HOME="$work/cargo-home" CARGO_NET_OFFLINE=true \
    R CMD INSTALL --no-test-load -l "$work/lib" "$tarball" >"$work/install.log" 2>&1; then
  tail -n 40 "$work/install.log"
  echo "FAIL: offline install of $tarball"
  exit 1
fi
grep -m1 'innsight: using' "$work/install.log" || true
grep -q 'building offline from the vendored crates' "$work/install.log" ||
  { echo "FAIL: the install did not use the vendored crates"; exit 1; }

"${net[@]}" env R_LIBS="$work/lib" Rscript -e '
  library(innsight)
  model <- list(input_dim = 3, input_nodes = 1, output_nodes = 1, layers = list(
    list(type = "Dense", weight = matrix(c(1, -2, 0.5, 0, 1, 1), 2, 3), bias = c(0, 1),
         activation_name = "relu", input_layers = 0, output_layers = -1)))
  conv <- convert(model)
  x <- matrix(c(1, 2, 3, -1, 0, 2), 2, 3, byrow = TRUE)
  g <- run_grad(conv, x, verbose = FALSE)$get_result()
  # relu(Wx + b): the gradient of output k is W[k, ] where unit k is active
  pre <- x %*% t(model$layers[[1]]$weight) + rep(c(0, 1), each = 2)
  want <- array(NA_real_, c(2, 3, 2))
  for (k in 1:2) want[, , k] <- outer(pre[, k] > 0, model$layers[[1]]$weight[k, ])
  stopifnot(isTRUE(all.equal(unname(g), want, tolerance = 1e-6)))
  f <- tempfile(fileext = ".safetensors")
  save_model(conv, f)
  stopifnot(isTRUE(all.equal(predict(load_model(f), x), predict(conv, x), tolerance = 1e-6)))
  cat("offline install: package loads, Gradient matches the closed form, model file round-trips\n")
'

# configure with a fake rustc older than the minimum: a clear message, no build
mkdir -p "$work/old/bin" "$work/pkg"
printf '#!/bin/sh\necho "rustc 1.70.0 (90c541806 2023-05-31)"\n' >"$work/old/bin/rustc"
printf '#!/bin/sh\necho "cargo 1.70.0"\n' >"$work/old/bin/cargo"
chmod +x "$work/old/bin/rustc" "$work/old/bin/cargo"
tar -xzf "$tarball" -C "$work/pkg"
if (cd "$work/pkg/innsight" && PATH="$work/old/bin:/usr/bin:/bin" HOME="$work" sh ./configure >"$work/configure.log" 2>&1); then
  echo "FAIL: configure accepted rustc 1.70.0"; exit 1
fi
grep -q 'rustc 1.70.0 is too old' "$work/configure.log" || { cat "$work/configure.log"; echo "FAIL: no version message"; exit 1; }
echo "configure: rustc 1.70.0 is refused with: $(grep 'too old' "$work/configure.log")"
echo "offline install test passed"
