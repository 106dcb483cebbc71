"""Host-side launch helpers shared by every kernel family.

Strided kernels follow one calling convention::

    kernel(ptr_0, ..., ptr_k, extra..., i64 n, int ndim, i64 n0..n7, i64 <op0>s0..s7, ...)

``strided_launch`` merges the dims of all operands (``array.merge_dims``),
picks the flat ``contig`` kernel when every operand is C-contiguous over the
same shape, and splits layouts with more than eight merged dims into several
launches over the leading dims.
"""
from __future__ import annotations

import itertools
from typing import Callable, Sequence

import numpy as np

from .array import MAX_KERNEL_DIMS, CUDAArray, broadcast_strides, merge_dims
from .codegen import layout_args, layout_format

__all__ = ["strided_launch", "is_flat", "ptr_format"]


def ptr_format(n: int) -> str:
    return "P" * n


def is_flat(shape: Sequence[int], arrays: Sequence[CUDAArray]) -> bool:
    """Whether every array is C-contiguous with exactly ``shape`` (one flat loop serves all)."""
    return all(a.shape == tuple(shape) and a.is_c_contiguous() for a in arrays)


def strided_launch(rt, get_kernel: Callable[[str, str], object], shape: Sequence[int],
                   arrays: Sequence[CUDAArray], extra: Sequence = (), extra_format: str = "") -> None:
    """Launch an elementwise-shaped kernel over ``shape``; ``arrays[0]`` is usually the output.

    ``get_kernel(layout, arg_format)`` returns the prepared kernel for
    ``"contig"`` (args: pointers, extra, n) or ``"strided"`` (args: pointers,
    extra, n, layout).  Inputs of another shape are read broadcast.
    """
    shape = tuple(int(d) for d in shape)
    n = 1
    for d in shape:
        n *= d
    if n == 0:
        return
    k = len(arrays)
    if is_flat(shape, arrays):
        fn = get_kernel("contig", ptr_format(k) + extra_format + "q")
        rt.launch(fn, n, *[a.ptr for a in arrays], *extra, np.int64(n))
        return
    strides = [broadcast_strides(a.shape, a.strides, shape) for a in arrays]
    mshape, mstrides = merge_dims(shape, strides)
    fn = get_kernel("strided", ptr_format(k) + extra_format + "q" + layout_format(k))
    lead = len(mshape) - MAX_KERNEL_DIMS
    if lead <= 0:
        rt.launch(fn, n, *[a.ptr for a in arrays], *extra, np.int64(n), *layout_args(mshape, mstrides))
        return
    # More dims than a kernel takes: one launch per index of the leading dims.
    inner_shape = mshape[lead:]
    inner_strides = [st[lead:] for st in mstrides]
    inner_n = 1
    for d in inner_shape:
        inner_n *= d
    tail = layout_args(inner_shape, inner_strides)
    for idx in itertools.product(*(range(d) for d in mshape[:lead])):
        ptrs = [a.ptr + sum(i * s for i, s in zip(idx, st[:lead])) * a.itemsize
                for a, st in zip(arrays, mstrides)]
        rt.launch(fn, inner_n, *ptrs, *extra, np.int64(inner_n), *tail)
