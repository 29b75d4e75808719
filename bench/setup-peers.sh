#!/usr/bin/env bash
# Create the Python environment of the benchmark's peer side: CPU PyTorch, torchvision,
# Captum and Zennit at the versions pinned in bench/peers.py, from the Python package
# index.
#   VENV=path bash bench/setup-peers.sh      (default: ~/.cache/peers-venv)
#
# Why not `pip install torch torchvision captum zennit`: Linux x86_64 torch wheels on the
# package index are CUDA builds. A plain install resolves a long list of nvidia-* and
# triton packages (gigabytes); with --no-deps alone, `import torch` fails because
# libtorch links the CUDA runtime libraries at load time. So torch and torchvision are
# installed without dependencies, followed by their pure-Python dependencies and only
# those CUDA runtime wheels the dynamic linker asks for. The CPU kernels (MKL, oneDNN)
# live in libtorch_cpu.so and do not depend on them. Captum and Zennit are installed
# without dependencies too, or pip would resolve torch's CUDA requirements again.
set -euo pipefail
VENV=${VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/peers-venv}
echo "peers venv: $VENV"
if ! python3 -c "import ensurepip" >/dev/null 2>&1; then
  # Debian ships `python3 -m venv` support separately
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv
fi
python3 -m venv "$VENV"
pip_in() { "$VENV/bin/pip" install --disable-pip-version-check "$@"; }
pip_in -U pip
pip_in --no-deps torch==2.15.0 torchvision==0.29.2
pip_in filelock "typing-extensions>=4.13.0" "setuptools>=77.0.3" "sympy>=1.13.3" \
  "networkx>=2.5.1" jinja2 "fsspec>=0.8.5" numpy pillow
# the CUDA runtime libraries libtorch is linked against (nothing else of the CUDA stack)
pip_in --no-deps nvidia-cuda-runtime==13.2.86 nvidia-cublas==13.4.1.3 \
  nvidia-cufft==12.2.0.57 nvidia-cufile==1.17.1.22 nvidia-cusparse==12.7.10.12 \
  nvidia-cusparselt-cu13==0.8.1 nvidia-nccl-cu13==2.30.7 nvidia-cudnn-cu13==9.26.0.51 \
  nvidia-cuda-nvrtc==13.2.86 nvidia-nvshmem-cu13==3.7.2 nvidia-nvjitlink==13.5.37 \
  nvidia-cuda-cupti==13.2.86
pip_in --no-deps captum==0.9.0 zennit==0.5.1
pip_in matplotlib packaging tqdm click safetensors
"$VENV/bin/python" -c "import torch, torchvision, captum, zennit; print('torch', torch.__version__, 'cuda available:', torch.cuda.is_available())"
