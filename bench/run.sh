#!/usr/bin/env bash
# `make bench`: innsight vs Captum/Zennit on VGG16, VGG19 and ResNet50, written to
# bench/results.md (and bench/results.json; worker logs in bench/logs/).
#
# Environment:
#   BENCH_QUICK=1        ResNet50 at batch 1, one call per case, no warm-up (smoke test)
#   BENCH_MODELS, BENCH_BATCHES, BENCH_METHODS   comma-separated subsets
#   BENCH_THREADS        threads per side (default 2)
#   BENCH_CASE_BUDGET    seconds of timed calls per case before fewer reps are taken (4)
#   BENCH_ISOLATE=1      fresh worker processes per case (exact per-case peak memory)
#   PEERS_VENV           the peers' virtual environment (default ~/.cache/peers-venv;
#                        created with bench/setup-peers.sh when it does not work)
#   BENCH_LIB            R library the package is installed into (default bench/.lib);
#   BENCH_NO_INSTALL=1   use the innsight already on R's library path instead
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PATH:$HOME/.cargo/bin"
mkdir -p bench/logs

VENV=${PEERS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/peers-venv}
if ! "$VENV/bin/python" -c "import torch, torchvision, captum, zennit" >/dev/null 2>&1; then
  echo "== setting up the peers' Python environment in $VENV (bench/setup-peers.sh)"
  VENV="$VENV" bash bench/setup-peers.sh > bench/logs/setup-peers.log 2>&1 \
    || { tail -n 30 bench/logs/setup-peers.log; exit 1; }
fi

if [ "${BENCH_NO_INSTALL:-0}" != "1" ]; then
  LIB=${BENCH_LIB:-$PWD/bench/.lib}
  mkdir -p "$LIB"
  echo "== installing innsight into $LIB"
  R CMD INSTALL --no-test-load -l "$LIB" . > bench/logs/install.log 2>&1 \
    || { tail -n 30 bench/logs/install.log; exit 1; }
  export R_LIBS="$LIB${R_LIBS:+:$R_LIBS}"
fi

args=(--python "$VENV/bin/python")
[ "${BENCH_QUICK:-0}" = "1" ] && args+=(--quick)
[ "${BENCH_ISOLATE:-0}" = "1" ] && args+=(--isolate)
[ -n "${BENCH_MODELS:-}" ] && args+=(--models "$BENCH_MODELS")
[ -n "${BENCH_BATCHES:-}" ] && args+=(--batches "$BENCH_BATCHES")
[ -n "${BENCH_METHODS:-}" ] && args+=(--methods "$BENCH_METHODS")
python3 bench/drive.py "${args[@]}"
