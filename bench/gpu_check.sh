#!/usr/bin/env bash
# GPU cross-check: build libftorch against THIS machine's torch and run the CUDA cross-checks.
#
# Meant for a GPU machine with its own Python + CUDA torch, CMake, ninja and nvcc, but with
# no internet and no Fortran compiler.  Builds only the C ABI (-DFTORCH_BUILD_FORTRAN=OFF);
# if the CMake configure fails (e.g. torch's CUDA CMake files cannot find a CUDA piece), it
# falls back to compiling the three C++ sources with g++ against torch's headers.  Then:
#   1. pyftorch crosscheck --device cuda (built-in suite, float32 + float64, + random scenarios
#      when hypothesis is installed), failing if CUDA cases are skipped;
#   2. the CPU suite on the same torch, for comparison;
#   3. pytest -m gpu tests/python (when pytest is installed).
# Runs in well under 5 minutes (the build dominates: three translation units).
#
# Usage: bench/gpu_check.sh            (from anywhere; writes into build-gpu/ of the checkout)
# Environment:
#   PYTHON=python3           interpreter that has the CUDA torch (and numpy)
#   GPU_BUILD=auto|cmake|gxx how to build (auto: CMake, then g++ if CMake fails)
#   GPU_BUILD_DIR=<repo>/build-gpu
#   GPU_RANDOM=200           random scenarios per dtype (0 to skip)
#   GPU_SEED=20261126        their seed
#   REQUIRE_CUDA=1           0: do not fail when CUDA is absent (dry run on a CPU machine)
#   FSRC=<repo>/fsrc         the CMake project of the library
#   OUT                      if set, logs and the JSON report are copied there
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}
GPU_BUILD=${GPU_BUILD:-auto}
BUILD=${GPU_BUILD_DIR:-$REPO/build-gpu}
FSRC=${FSRC:-$REPO/fsrc}
GPU_RANDOM=${GPU_RANDOM:-200}
GPU_SEED=${GPU_SEED:-20261126}
REQUIRE_CUDA=${REQUIRE_CUDA:-1}
PREFIX=$BUILD/install
LOG=$BUILD/logs
JOBS=$(nproc 2>/dev/null || echo 4)
mkdir -p "$LOG"
start=$(date +%s)
failures=()

say() { printf '\n=== %s (t=%ss)\n' "$*" "$(( $(date +%s) - start ))"; }
fail() { failures+=("$1"); printf 'FAILED: %s\n' "$1"; }
finish() {
  if [ -n "${OUT:-}" ]; then mkdir -p "$OUT" && cp -r "$LOG" "$OUT/" 2>/dev/null; fi
  say "done in $(( $(date +%s) - start )) s"
  if [ ${#failures[@]} -eq 0 ]; then echo "GPU CHECK: PASS"; exit 0; fi
  echo "GPU CHECK: FAIL (${failures[*]})"; exit 1
}

# --- environment ---------------------------------------------------------------------------------
say "environment"
command -v nvidia-smi >/dev/null && nvidia-smi -L
command -v nvcc >/dev/null && nvcc --version | tail -1
cmake --version 2>/dev/null | head -1
"$PYTHON" - <<'EOF' || { fail "python/torch/numpy not importable with $PYTHON"; finish; }
import sys, torch, numpy
print(f"python {sys.version.split()[0]}  torch {torch.__version__} (CUDA {torch.version.cuda})  numpy {numpy.__version__}")
print(f"torch.cuda.is_available()={torch.cuda.is_available()} devices={torch.cuda.device_count()}",
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
for mod in ("pytest", "hypothesis"):
    try:
        m = __import__(mod); print(f"{mod} {m.__version__}")
    except ImportError:
        print(f"{mod}: not installed (its part is skipped)")
EOF
TORCH_CMAKE=$("$PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)')
TORCH_DIR=$("$PYTHON" -c 'import os, torch; print(os.path.dirname(torch.__file__))')

# --- build ---------------------------------------------------------------------------------------
build_cmake() {
  say "build with CMake (FTORCH_BUILD_FORTRAN=OFF) into $BUILD/cmake"
  grep -q FTORCH_BUILD_FORTRAN "$FSRC/CMakeLists.txt" ||
    echo "warning: $FSRC/CMakeLists.txt has no FTORCH_BUILD_FORTRAN option; the configure needs a Fortran compiler"
  local generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  # torch's CMake files look for the CUDA toolkit; the library itself compiles no CUDA code.
  TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0} timeout 180 cmake -S "$FSRC" -B "$BUILD/cmake" "${generator[@]}" \
      -DCMAKE_BUILD_TYPE=Release -DFTORCH_BUILD_FORTRAN=OFF -DCMAKE_PREFIX_PATH="$TORCH_CMAKE" \
      -DCMAKE_INSTALL_PREFIX="$PREFIX" -DPython_EXECUTABLE="$(command -v "$PYTHON")" \
      >"$LOG/cmake-configure.log" 2>&1 || { tail -n 30 "$LOG/cmake-configure.log"; return 1; }
  timeout 240 cmake --build "$BUILD/cmake" -j "$JOBS" >"$LOG/cmake-build.log" 2>&1 ||
    { tail -n 30 "$LOG/cmake-build.log"; return 1; }
  cmake --install "$BUILD/cmake" >"$LOG/cmake-install.log" 2>&1 || { tail -n 10 "$LOG/cmake-install.log"; return 1; }
  tail -n 3 "$LOG/cmake-build.log"
}

build_gxx() {
  say "build with g++ against $TORCH_DIR (no CMake)"
  local abi cxx=${CXX:-g++}
  abi=$("$PYTHON" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
  mkdir -p "$BUILD/gxx" "$PREFIX/lib" "$PREFIX/include"
  local objs=() pids=() src obj version
  # ftorch.h includes ftorch_version.h, which CMake generates from the VERSION file.
  version=$(tr -d '[:space:]' < "$FSRC/../VERSION")
  sed -e "s/@PROJECT_VERSION@/$version/; s/@PROJECT_VERSION_MAJOR@/${version%%.*}/" \
      -e "s/@PROJECT_VERSION_MINOR@/$(echo "$version" | cut -d. -f2)/; s/@PROJECT_VERSION_PATCH@/${version##*.}/" \
      -e "s/@FTORCH_API_VERSION@/1.1/g; s/@FTORCH_API_VERSION_MAJOR@/1/; s/@FTORCH_API_VERSION_MINOR@/1/" \
      "$FSRC/cmake/ftorch_version.h.in" > "$PREFIX/include/ftorch_version.h"
  for src in "$FSRC"/src/*.cpp; do
    obj="$BUILD/gxx/$(basename "${src%.cpp}").o"
    objs+=("$obj")
    timeout 240 "$cxx" -std=c++17 -O2 -fPIC -fvisibility=hidden -D_GLIBCXX_USE_CXX11_ABI="$abi" \
        -DFTORCH_VERSION="\"$version\"" \
        -I"$FSRC/include" -I"$PREFIX/include" -I"$FSRC/src" -isystem "$TORCH_DIR/include" -isystem "$TORCH_DIR/include/torch/csrc/api/include" \
        -c "$src" -o "$obj" >"$LOG/gxx-$(basename "$src").log" 2>&1 &
    pids+=($!)
  done
  local ok=0 pid
  for pid in "${pids[@]}"; do wait "$pid" || ok=1; done
  if [ $ok -ne 0 ]; then tail -n 20 "$LOG"/gxx-*.log; return 1; fi
  "$cxx" -shared -o "$PREFIX/lib/libftorch.so" "${objs[@]}" -L"$TORCH_DIR/lib" -Wl,-rpath,"$TORCH_DIR/lib" \
      -Wl,--no-undefined -ltorch_cpu -lc10 >"$LOG/gxx-link.log" 2>&1 || { cat "$LOG/gxx-link.log"; return 1; }
  cp "$FSRC/include/ftorch.h" "$PREFIX/include/"
  ls -l "$PREFIX/lib/libftorch.so"
}

rm -rf "$PREFIX"
case "$GPU_BUILD" in
  cmake) build_cmake || { fail "cmake build"; finish; } ;;
  gxx) build_gxx || { fail "g++ build"; finish; } ;;
  *) build_cmake || { echo "CMake build failed; falling back to g++"; build_gxx || { fail "build"; finish; }; } ;;
esac
LIB=$(find "$PREFIX" -maxdepth 2 -path "$PREFIX/lib*/libftorch.so" 2>/dev/null | head -1)
[ -n "$LIB" ] || { fail "no libftorch.so under $PREFIX"; finish; }
export PYFTORCH_LIB=$LIB
export PYTHONPATH=$REPO${PYTHONPATH:+:$PYTHONPATH}
echo "PYFTORCH_LIB=$PYFTORCH_LIB"
"$PYTHON" -c 'import json, pyftorch; print(json.dumps(pyftorch.library_info()))' || { fail "load libftorch"; finish; }

# --- cross-checks ----------------------------------------------------------------------------------
skip_flag=--fail-on-skip
[ "$REQUIRE_CUDA" = 0 ] && skip_flag=
random_args=()
if [ "$GPU_RANDOM" -gt 0 ] && "$PYTHON" -c 'import hypothesis' 2>/dev/null; then
  random_args=(--random "$GPU_RANDOM" --seed "$GPU_SEED")
fi

say "pyftorch crosscheck --device cuda ${random_args[*]}"
timeout 300 "$PYTHON" -m pyftorch crosscheck --device cuda --dtype all $skip_flag "${random_args[@]}" 2>&1 |
  tee "$LOG/crosscheck-cuda.txt" | grep -v '^\(op\|scalar\|chain\|broadcast\)_.* ok *$'
[ "${PIPESTATUS[0]}" -eq 0 ] || fail "crosscheck --device cuda"
timeout 300 "$PYTHON" -m pyftorch crosscheck --device cuda --dtype all --json "${random_args[@]}" \
  >"$LOG/crosscheck-cuda.json" 2>/dev/null || true

say "pyftorch crosscheck --device cpu (same torch, for comparison)"
timeout 300 "$PYTHON" -m pyftorch crosscheck --device cpu --dtype all 2>&1 | tee "$LOG/crosscheck-cpu.txt" | tail -2
[ "${PIPESTATUS[0]}" -eq 0 ] || fail "crosscheck --device cpu"

if "$PYTHON" -c 'import pytest, hypothesis' 2>/dev/null; then
  say "pytest tests/python/test_gpu.py"
  (cd "$REPO" && timeout 300 "$PYTHON" -m pytest -q -rs -m gpu -p no:cacheprovider \
      tests/python/test_gpu.py 2>&1) | tee "$LOG/pytest-gpu.txt" | tail -15
  [ "${PIPESTATUS[0]}" -eq 0 ] || fail "pytest GPU cases"
  if [ "$REQUIRE_CUDA" != 0 ] && grep -q "SKIPPED.*CUDA not available" "$LOG/pytest-gpu.txt"; then
    fail "pytest GPU cases skipped"
  fi
else
  echo "pytest/hypothesis not installed: pytest GPU cases not run (the crosscheck above covers the suite)"
fi

# --- distributed: world-size-1 NCCL smoke test ----------------------------------------------------
# ProcessGroupNCCL is compiled in only when this torch has NCCL and CMake found nccl.h (the g++
# fallback build has no distributed support at all).  One rank, one GPU: all-reduce and
# broadcast of CUDA tensors must be identities, and a distributed model must train.
say "distributed: NCCL smoke test (world size 1)"
if ! "$PYTHON" -c 'import sys, torch.distributed as d; sys.exit(0 if d.is_available() and d.is_nccl_available() else 1)'; then
  echo "this torch has no NCCL: skipped"
else
  timeout 120 "$PYTHON" - <<'EOF' 2>&1 | tee "$LOG/nccl-smoke.txt"
import socket
import sys

import numpy as np
import torch

import pyftorch
import pyftorch.distributed as dist

if not dist.is_available():
    sys.exit("libftorch was built without distributed support (no gloo headers and no nccl.h at build time)")
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
dist.init(rank=0, world_size=1, master_addr="127.0.0.1", master_port=port, timeout=60, device="cuda")
a = np.arange(6, dtype=np.float32)
t = pyftorch.from_numpy(a, copy=True, device="cuda")
dist.all_reduce(t, "sum")
dist.all_reduce(t, "avg")
dist.broadcast(t, 0)
dist.barrier()
assert np.array_equal(t.to("cpu").numpy(), a), t.to("cpu").numpy()
torch.manual_seed(0)
path = pyftorch.save_torchscript(torch.nn.Linear(6, 2), "/tmp/ftorch-nccl-smoke.pt")
model = pyftorch.Model.load(path, device="cuda", requires_grad=True, training=True).distribute()
params = model.parameters()
opt = pyftorch.SGD(params, lr=0.1)
x = pyftorch.from_numpy(np.ones((4, 6), dtype=np.float32), copy=True, device="cuda")
y = pyftorch.from_numpy(np.zeros((4, 2), dtype=np.float32), copy=True, device="cuda")
before = params[0].to("cpu").numpy().copy()
loss = pyftorch.mse_loss(model(x, requires_grad=True), y)
loss.backward()
opt.step()
assert not np.array_equal(params[0].to("cpu").numpy(), before), "the distributed model did not train"
dist.finalize()
print("NCCL smoke test: PASS")
EOF
  [ "${PIPESTATUS[0]}" -eq 0 ] || fail "NCCL smoke test"
fi

finish
