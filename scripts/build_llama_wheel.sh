#!/usr/bin/env bash
# Build llama-cpp-python once per (version, flags) into a wheel cache and install it.
# Why: a native build (-march=native) enables ggml's AMX kernels on CPUs that advertise AMX,
# and they segfault on these VMs. The portable AVX2 build below works everywhere here. pip's own
# wheel cache ignores CMAKE_ARGS, so we keep our own, keyed by the flags.
set -euo pipefail
PIP=${PIP:-.venv/bin/python -m pip}
VERSION=${LLAMA_CPP_VERSION:-0.3.36}
FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
KEY=$(printf '%s %s' "$VERSION" "$FLAGS" | sha1sum | cut -c1-12)
DIR=${RECAGENT_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/recagent/wheels}/llama-$KEY
if ! ls "$DIR"/llama_cpp_python-"$VERSION"-*.whl >/dev/null 2>&1; then
  echo "building llama-cpp-python $VERSION (about 7 minutes on 2 cores)..."
  mkdir -p "$DIR"
  CMAKE_ARGS="$FLAGS" $PIP wheel --quiet --no-deps --no-cache-dir -w "$DIR" "llama-cpp-python==$VERSION"
fi
$PIP install --quiet --force-reinstall --no-deps "$DIR"/llama_cpp_python-"$VERSION"-*.whl
