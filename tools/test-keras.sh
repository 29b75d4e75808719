#!/usr/bin/env bash
# The Keras tests (tests/testthat/test-keras.R) against the installed package, with
# Python Keras (TensorFlow CPU backend) from a virtual environment that is created
# on first use by tools/setup-keras-venv.sh. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export VENV="${VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/keras-venv}"
if ! bash tools/setup-keras-venv.sh; then
  echo "could not create the keras venv at $VENV"
  echo "0 passed, 1 failed"
  exit 1
fi
export RETICULATE_PYTHON="$VENV/bin/python"
export NOT_CRAN=true KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=2 TF_ENABLE_ONEDNN_OPTS=0
report=$(mktemp)
export INNSIGHT_KERAS_REPORT="$report"
Rscript tools/run-test-file.R tests/testthat/test-keras.R INNSIGHT_KERAS_REPORT "Forward pass vs Keras predict()" 2> >(grep -v -E "^(WARNING: All log messages|WARNING:tensorflow:|[IEW]0000 )" >&2)
status=$?
rm -f "$report"
exit $status
