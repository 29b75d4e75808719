#!/usr/bin/env bash
# Create (once) the Python environment of the optional PyTorch tests (`make test-torch`):
# the benchmark's peers venv (CPU torch, torchvision, captum, zennit; made by
# bench/setup-peers.sh) plus the ONNX tools torch.onnx.export needs (onnx, and
# onnxscript for the dynamo exporter) and onnxruntime.
# Nothing is installed when the venv already imports all of them.
#
# Usage: VENV=/some/path bash tools/setup-torch-venv.sh   (default: ~/.cache/peers-venv)
set -euo pipefail
cd "$(dirname "$0")/.."
export VENV="${VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/peers-venv}"

imports() { [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import $1" >/dev/null 2>&1; }

if ! imports "torch, torchvision"; then
  bash bench/setup-peers.sh
fi
if ! imports "onnx, onnxruntime, onnxscript"; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    onnx==1.23.2 onnxruntime==1.32.0 onnxscript==0.7.2
fi
"$VENV/bin/python" -c "
import torch, torchvision, onnx, onnxruntime, onnxscript
print('torch venv ready: $VENV | torch', torch.__version__, '| torchvision', torchvision.__version__,
      '| onnx', onnx.__version__, '| onnxruntime', onnxruntime.__version__, '| onnxscript', onnxscript.__version__)
" 2>/dev/null
