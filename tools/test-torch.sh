#!/usr/bin/env bash
# The PyTorch tests (tests/testthat/test-torch.R) against the installed package:
# modules defined in Python through reticulate, converted directly and through ONNX
# files, against torch's own outputs and autograd gradients, plus full-size VGG16 and
# ResNet50 (random weights). Python comes from a virtual environment made on first use
# by tools/setup-torch-venv.sh. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export VENV="${VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/peers-venv}"
if ! bash tools/setup-torch-venv.sh; then
  echo "could not create the torch venv at $VENV"
  echo "0 passed, 1 failed"
  exit 1
fi
export RETICULATE_PYTHON="$VENV/bin/python"
export NOT_CRAN=true INNSIGHT_TEST_TORCH=1
report=$(mktemp)
export INNSIGHT_TORCH_REPORT="$report"
Rscript tools/run-test-file.R tests/testthat/test-torch.R INNSIGHT_TORCH_REPORT "Against torch"
status=$?
rm -f "$report"
exit $status
