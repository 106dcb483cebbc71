"""Matmul kernels for the dtypes cuBLAS does not cover (integers): one thread per output element."""
from __future__ import annotations

from ..codegen import CTYPE, INT_DTYPES, KernelFamily, kernel_name, register_family


def _naive(key: tuple) -> str:
    (dtype,) = key
    t = CTYPE[dtype]
    return f"""
extern "C" __global__ void {kernel_name("matmul", "naive", dtype)}({t}* out, const {t}* a, const {t}* b,
                                                             i64 batch, i64 M, i64 N, i64 K) {{
  const i64 total = batch * M * N;
  for (i64 idx = blockIdx.x * (i64)blockDim.x + threadIdx.x; idx < total; idx += (i64)gridDim.x * blockDim.x) {{
    const i64 j = idx % N, rest = idx / N, i = rest % M, bb = rest / M;
    const {t}* arow = a + (bb * M + i) * K;
    const {t}* bcol = b + bb * K * N + j;
    long long acc = 0;  // wraps like the CPU's integer matmul
    for (i64 k = 0; k < K; ++k) acc += (long long)arow[k] * (long long)bcol[k * N];
    out[idx] = ({t})acc;
  }}
}}
"""


register_family(KernelFamily("matmul_naive", _naive, lambda: [(d,) for d in INT_DTYPES]))
