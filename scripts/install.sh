#!/usr/bin/env bash
# Install recagent and everything it needs into ./.venv on a fresh machine.
# torch is pinned first: the CPU wheel; an unpinned torch would pull GBs of CUDA packages.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip wheel setuptools
.venv/bin/python -m pip install --quiet "torch==2.13.0"
bash scripts/build_llama_wheel.sh   # portable llama.cpp build, cached by its flags
.venv/bin/python -m pip install --quiet -e ".[dev]"
echo "recagent installed in .venv ($(.venv/bin/recagent --help >/dev/null && echo ok))"
