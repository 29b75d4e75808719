#!/usr/bin/env bash
# Create (once) a Python virtual environment with Keras on the TensorFlow CPU backend,
# for the optional Keras tests (`make test-keras`).
#
# Why these choices:
#  * the venv is made from Debian's /usr/bin/python3: Debian's R links Debian's libpython,
#    and reticulate mixes up interpreters made elsewhere (e.g. by pyenv);
#  * numpy is pinned below 2: Debian's reticulate (1.28) cannot talk to NumPy 2.
# Nothing is installed when the venv already imports keras. About 1.6 GB.
#
# KERAS2=1 also installs tf_keras (Keras 2), for the Keras 2 test; it brings the full
# `tensorflow` wheel along (about 0.6 GB more).
#
# Usage: VENV=/some/path [KERAS2=1] bash tools/setup-keras-venv.sh   (default: ~/.cache/keras-venv)
set -euo pipefail
VENV="${VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/keras-venv}"
PY=/usr/bin/python3

if ! { [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import keras, numpy" >/dev/null 2>&1; }; then
  if [ ! -x "$PY" ]; then
    echo "Debian's python3 is missing; install it with: apt-get install python3 python3-venv" >&2
    exit 2
  fi
  if ! "$PY" -m venv "$VENV"; then
    echo "python3 -m venv failed; install python3-venv (apt-get install python3-venv) and retry" >&2
    exit 2
  fi
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet tensorflow-cpu "numpy<2"
fi
if [ "${KERAS2:-0}" = 1 ] && ! "$VENV/bin/python" -c "import tf_keras" >/dev/null 2>&1; then
  "$VENV/bin/python" -m pip install --quiet tf_keras "numpy<2"
fi
"$VENV/bin/python" -c "import keras, numpy as np; print('keras venv ready:', '$VENV', '| keras', keras.__version__, '| numpy', np.__version__)" 2>/dev/null
