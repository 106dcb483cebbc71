#!/usr/bin/env bash
# The whole CUDA check on a machine with an NVIDIA GPU and no internet (see docs/cuda.rst):
#   1. build pycuda from the files in .gpu/ (collected beforehand with tools/gpu_collect.sh),
#   2. build NeuraRust in place and precompile every kernel module,
#   3. run the test suite (every op also runs on cuda), the examples on cuda, and the CUDA benchmarks.
# Logs and results go to $OUT (default ./gpu_results).  Exit status: non-zero if any step failed.
set -u
OUT=${OUT:-gpu_results}
PY=${PYTHON:-python3}
JOBS=${JOBS:-$(nproc)}
mkdir -p "$OUT"
status=0
step() { echo "== $1"; shift; "$@"; local rc=$?; echo "== exit $rc"; [ $rc -eq 0 ] || status=1; return $rc; }

{
  nvidia-smi || true
  which nvcc && nvcc --version | tail -1
  $PY -c "import sys, numpy, scipy; print(sys.version); print('numpy', numpy.__version__, 'scipy', scipy.__version__)"
  $PY -c "import torch; print('torch', torch.__version__, torch.cuda.is_available())" || true
} > "$OUT/machine.txt" 2>&1

if ! $PY -c "import pycuda.driver" 2>/dev/null; then
  build_pycuda() {
    $PY -m pip install --no-index --no-deps .gpu/*.whl || return 1
    cuda_root=$(dirname "$(dirname "$(readlink -f "$(which nvcc)")")")
    libcuda=$(ldconfig -p | awk '/libcuda\.so( |\.1 )/ {print $NF; exit}')
    [ -n "$libcuda" ] || { echo "libcuda.so not found by ldconfig"; return 1; }
    curand=""
    [ -f "$cuda_root/include/curand.h" ] || curand="--no-cuda-enable-curand"
    src=$(mktemp -d)
    tar xzf .gpu/pycuda-*.tar.gz -C "$src" || return 1
    (cd "$src"/pycuda-* && $PY configure.py --cuda-root="$cuda_root" --cudadrv-lib-dir="$(dirname "$libcuda")" $curand \
       && MAKEFLAGS=-j$JOBS $PY -m pip install --no-build-isolation --no-deps .)
  }
  step "build pycuda" build_pycuda > "$OUT/pycuda_build.log" 2>&1
fi

step "build neurarust" $PY setup.py build_ext --inplace -j "$JOBS" > "$OUT/build.log" 2>&1
step "cuda available" $PY -c "import neurarust as nr; nr.show_config(); assert nr.cuda.is_available(), nr.cuda.unavailable_reason()" \
  > "$OUT/config.txt" 2>&1
step "precompile kernels" $PY -m neurarust.backends.cuda.precompile -j "$JOBS" > "$OUT/precompile.log" 2>&1
step "tests" $PY -m pytest -q -ra tests -p no:cacheprovider > "$OUT/tests.log" 2>&1
if $PY -c "import sklearn" 2>/dev/null; then
  step "digits mlp on cuda" $PY examples/digits_mlp.py --device cuda > "$OUT/digits_mlp.log" 2>&1
  step "digits cnn on cuda" $PY examples/digits_cnn.py --device cuda > "$OUT/digits_cnn.log" 2>&1
else
  echo "scikit-learn missing: examples skipped" > "$OUT/examples.log"
fi
step "cuda benchmarks" $PY -m benchmarks.cuda --output "$OUT/cuda_benchmarks.md" > "$OUT/cuda_benchmarks.log" 2>&1
tail -n 3 "$OUT"/*.log
exit $status
