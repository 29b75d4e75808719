#!/usr/bin/env bash
# `make demo-models`: retrain innsight's demo models and rewrite inst/extdata/
# (the four *.safetensors models, fashion_mnist_examples.rds, demo_models.json).
# See tools/demo-models/README.md. Run by hand, not in CI.
#   PYTHON    a Python with torch and safetensors (default: the peers' venv,
#             ~/.cache/peers-venv, made by bench/setup-peers.sh when missing)
#   WORK      a scratch directory (default: a new temporary one)
#   OUT       where the files go (default: inst/extdata)
set -euo pipefail
cd "$(dirname "$0")/../.."
FMNIST=/usr/share/datasets/fashion-mnist
if [ ! -f "$FMNIST/t10k-images-idx3-ubyte.gz" ]; then
  echo "== installing Fashion-MNIST (Debian package dataset-fashion-mnist)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dataset-fashion-mnist >/dev/null
fi
VENV=${PEERS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/peers-venv}
PYTHON=${PYTHON:-$VENV/bin/python}
if ! "$PYTHON" -c "import torch, safetensors" >/dev/null 2>&1; then
  echo "== setting up PyTorch in $VENV (bench/setup-peers.sh)"
  VENV="$VENV" bash bench/setup-peers.sh
  PYTHON=$VENV/bin/python
fi
WORK=${WORK:-$(mktemp -d)}
OUT=${OUT:-inst/extdata}
echo "== data -> $WORK"
Rscript tools/demo-models/export-data.R "$WORK"
echo "== training ($("$PYTHON" -c 'import torch; print("torch", torch.__version__)'))"
"$PYTHON" tools/demo-models/train.py "$WORK" --fmnist "$FMNIST"
echo "== converting and checking -> $OUT"
FMNIST_DIR="$FMNIST" Rscript tools/demo-models/export.R "$WORK" "$OUT"
