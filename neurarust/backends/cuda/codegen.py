"""CUDA C generated from templates: the kernel families and their shared header.

A *family* (elementwise, reduce, index, ...) renders the CUDA source for one
*variant key*, typically ``(dtype name, layout class)``.  At run time the
backend compiles one module per ``(family, key)`` the first time it is
needed and memoizes it per context (``runtime.DeviceRuntime.function``).
The same renderer feeds the compile test, which builds every key of every
family with ``nvcc`` on machines without a GPU, so a kernel that does not
compile fails CI.

Rules every family follows, so that all keys of a family can be compiled as
one translation unit in that test:

* ``helpers`` (device functions, templates) is rendered once per unit;
* ``render(key)`` returns only ``extern "C" __global__`` kernels whose names
  come from :func:`kernel_name` and so are unique across keys.

Example:
    >>> from neurarust.backends.cuda import codegen
    >>> codegen.kernel_name("unary", "exp", "float32", "contig")
    'nr_unary_exp_float32_contig'
"""
from __future__ import annotations

from typing import Callable, Dict, Iterable, Iterator, Sequence, Tuple

import numpy as np

__all__ = ["KernelFamily", "register_family", "family", "module_source", "unit_source",
           "all_families", "kernel_name", "CTYPE", "ACCTYPE", "DTYPES", "FLOAT_DTYPES",
           "layout_params", "layout_args", "COMMON"]

# Every dtype NeuraRust has; the C type that stores it and the one that computes with it.
CTYPE: Dict[str, str] = {
    "bool": "bool", "uint8": "unsigned char", "int8": "signed char", "int16": "short",
    "int32": "int", "int64": "long long", "float16": "__half", "float32": "float",
    "float64": "double",
}
ACCTYPE: Dict[str, str] = dict(CTYPE, float16="float")
DTYPES: Tuple[str, ...] = tuple(CTYPE)
FLOAT_DTYPES: Tuple[str, ...] = ("float16", "float32", "float64")
INT_DTYPES: Tuple[str, ...] = ("uint8", "int8", "int16", "int32", "int64")

# Shared by every module.  Strided kernels receive, for up to NR_MAXD dims
# (dims merged first, see array.merge_dims), the shape and each operand's
# element strides as scalar arguments, and turn a linear index into offsets.
COMMON = r"""
#ifndef NR_COMMON_CUH
#define NR_COMMON_CUH
#include <cuda_fp16.h>
typedef long long i64;
#define NR_MAXD 8
#define NR_FULL_MASK 0xffffffffu

// Conversions between storage types; __half goes through float.
template <typename To, typename From> struct NrCast {
  __device__ __forceinline__ static To f(From x) { return static_cast<To>(x); } };
template <typename From> struct NrCast<__half, From> {
  __device__ __forceinline__ static __half f(From x) { return __float2half(static_cast<float>(x)); } };
template <typename To> struct NrCast<To, __half> {
  __device__ __forceinline__ static To f(__half x) { return static_cast<To>(__half2float(x)); } };
template <> struct NrCast<__half, __half> {
  __device__ __forceinline__ static __half f(__half x) { return x; } };
template <> struct NrCast<bool, __half> {
  __device__ __forceinline__ static bool f(__half x) { return __half2float(x) != 0.0f; } };
template <typename To, typename From>
__device__ __forceinline__ To nr_cast(From x) { return NrCast<To, From>::f(x); }

// Linear index -> element offset for one operand.  shape/stride hold ndim
// entries, innermost last; the loop is unrolled over NR_MAXD so the arrays
// stay in registers.
__device__ __forceinline__ i64 nr_offset(i64 i, int ndim, const i64* shape, const i64* stride) {
  i64 off = 0;
#pragma unroll
  for (int d = NR_MAXD - 1; d >= 0; --d) {
    if (d < ndim) {
      i64 n = shape[d];
      i64 q = i / n;
      off += (i - q * n) * stride[d];
      i = q;
    }
  }
  return off;
}

// Block-wide reductions over blockDim.x threads (a multiple of 32, <= 1024).
template <typename T> struct NrSum { __device__ __forceinline__ T operator()(T a, T b) const { return a + b; } };

template <typename T, typename Op>
__device__ __forceinline__ T nr_warp_reduce(T v, Op op) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_down_sync(NR_FULL_MASK, v, o));
  return v;
}

// Result valid in thread 0; every thread of the block must call it.
template <typename T, typename Op>
__device__ __forceinline__ T nr_block_reduce(T v, Op op, T identity) {
  __shared__ T nr_partials[32];
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = nr_warp_reduce(v, op);
  __syncthreads();  // nr_partials may still be read by a previous call
  if (lane == 0) nr_partials[warp] = v;
  __syncthreads();
  int nwarps = (blockDim.x + 31) >> 5;
  v = (threadIdx.x < nwarps) ? nr_partials[lane] : identity;
  if (warp == 0) v = nr_warp_reduce(v, op);
  return v;
}
#endif
"""


def kernel_name(kind: str, op: str, *key: str) -> str:
    """The global name of a kernel: unique across every key of a family."""
    return "_".join(("nr", kind, op) + tuple(str(k) for k in key))


def layout_params(operands: Sequence[str]) -> str:
    """Kernel parameters for a strided layout: ``int ndim``, the shape, each operand's strides."""
    parts = ["int ndim"]
    parts += [f"i64 n{d}" for d in range(8)]
    for name in operands:
        parts += [f"i64 {name}s{d}" for d in range(8)]
    return ", ".join(parts)


def layout_locals(operands: Sequence[str]) -> str:
    """Statements rebuilding the shape and stride arrays from the scalar parameters."""
    lines = ["const i64 shape[NR_MAXD] = {" + ", ".join(f"n{d}" for d in range(8)) + "};"]
    for name in operands:
        lines.append(f"const i64 {name}_stride[NR_MAXD] = {{" + ", ".join(f"{name}s{d}" for d in range(8)) + "};")
    return "\n  ".join(lines)


def layout_args(shape: Sequence[int], strides_list: Sequence[Sequence[int]]) -> list:
    """The host-side values for :func:`layout_params`: ndim, 8 sizes, 8 strides per operand."""
    nd = len(shape)
    args = [np.int32(nd)]
    args += list(shape) + [1] * (8 - nd)
    for st in strides_list:
        args += list(st) + [0] * (8 - nd)
    return args


def layout_format(n_operands: int) -> str:
    """pycuda ``prepare`` format characters for :func:`layout_args` (``i`` then int64s)."""
    return "i" + "q" * (8 + 8 * n_operands)


class KernelFamily:
    """A set of kernels rendered per variant key.

    ``render(key)`` returns the kernels of one key; ``keys()`` every key the
    backend may ask for (the compile test builds all of them); ``helpers``
    is device code shared by all keys; ``includes`` are extra headers.
    """

    def __init__(self, name: str, render: Callable[[tuple], str], keys: Callable[[], Iterable[tuple]],
                 helpers: str = "") -> None:
        self.name = name
        self.render = render
        self.keys = keys
        self.helpers = helpers


_FAMILIES: Dict[str, KernelFamily] = {}


def register_family(fam: KernelFamily) -> KernelFamily:
    if fam.name in _FAMILIES:
        raise ValueError(f"kernel family {fam.name!r} is registered twice")
    _FAMILIES[fam.name] = fam
    return fam


def family(name: str) -> KernelFamily:
    _load_families()
    try:
        return _FAMILIES[name]
    except KeyError:
        raise KeyError(f"unknown CUDA kernel family {name!r}; known: {sorted(_FAMILIES)}") from None


def all_families() -> Iterator[KernelFamily]:
    _load_families()
    return iter(list(_FAMILIES.values()))


def module_source(name: str, key: tuple) -> str:
    """The source of the module the runtime compiles for ``(family, key)``."""
    fam = family(name)
    return COMMON + fam.helpers + fam.render(tuple(key))


def unit_source(fam: KernelFamily) -> str:
    """Every key of a family in one translation unit (for the nvcc compile test)."""
    return COMMON + fam.helpers + "\n".join(fam.render(tuple(k)) for k in fam.keys())


def _load_families() -> None:
    from . import kernels  # noqa: F401  (each kernel module registers its family on import)
