"""Matrix multiplication on the GPU: cuBLAS (``blas.py``) for floating dtypes.

cuBLAS is column-major; a row-major ``C = A @ B`` is computed as the
column-major ``C^T = B^T @ A^T``, which needs no copy: a row-major matrix
*is* its transpose in column-major order.  A transposed view (unit stride
along rows) is passed with the ``T`` flag, again without a copy.  Batches
use the strided-batched GEMM when the batch dims collapse to one stride per
operand (zero for a broadcast operand); other layouts are copied first.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from .array import CUDAArray, merge_dims
from .blas import OP_N, OP_T

__all__ = ["LinalgMethods", "column_major_operand", "gemm_plan"]


def column_major_operand(rows: int, cols: int, s_row: int, s_col: int) -> Optional[Tuple[int, int]]:
    """``(op, ld)`` making cuBLAS read the row-major-indexed ``X`` (rows x cols) as ``X^T``.

    None when the strides are neither row- nor column-major (a copy is needed).

    Example:
        >>> column_major_operand(3, 4, 4, 1), column_major_operand(3, 4, 1, 3)
        ((0, 4), (1, 3))
    """
    if (s_col == 1 or cols <= 1) and (rows <= 1 or s_row >= max(cols, 1)):
        return OP_N, max(s_row if rows > 1 else cols, cols, 1)
    if (s_row == 1 or rows <= 1) and (cols <= 1 or s_col >= max(rows, 1)):
        return OP_T, max(s_col if cols > 1 else rows, rows, 1)
    return None


def gemm_plan(a_shape, a_strides, b_shape, b_strides):
    """How to run a batched row-major matmul with one cuBLAS call.

    Returns ``(batch, (op_a, ld_a, stride_a), (op_b, ld_b, stride_b))``;
    ``"copy_a"``/``"copy_b"`` when that operand's matrix strides need a
    contiguous copy first, None when the batch dims do not collapse.

    Example:
        >>> gemm_plan((2, 3, 4), (12, 4, 1), (2, 4, 5), (0, 5, 1))
        (2, (0, 4, 12), (0, 5, 0))
    """
    m, k = a_shape[-2:]
    n = b_shape[-1]
    batch_shape = a_shape[:-2]
    merged, (sa, sb) = merge_dims(batch_shape, [a_strides[:-2], b_strides[:-2]])
    if len(merged) > 1:
        return None
    batch = merged[0] if merged else 1
    a_op = column_major_operand(m, k, a_strides[-2], a_strides[-1])
    b_op = column_major_operand(k, n, b_strides[-2], b_strides[-1])
    if a_op is None:
        return "copy_a"
    if b_op is None:
        return "copy_b"
    stride_a = sa[0] if merged else 0
    stride_b = sb[0] if merged else 0
    return batch, a_op + (stride_a,), b_op + (stride_b,)


class LinalgMethods:
    """``matmul`` of the backend protocol."""

    def matmul(self, a: CUDAArray, b: CUDAArray) -> CUDAArray:
        """Batched matmul: a (..., M, K), b (..., K, N) with equal batch dims (maybe broadcast)."""
        out = self.empty(a.shape[:-1] + (b.shape[-1],), a.dtype)
        m, k = a.shape[-2:]
        n = b.shape[-1]
        if out.size == 0:
            return out
        if k == 0:
            self.fill_(out, 0)
            return out
        if a.dtype.kind != "f":
            return self._matmul_naive(a, b, out)
        plan = gemm_plan(a.shape, a.strides, b.shape, b.strides)
        while not isinstance(plan, tuple):  # at most two rounds: copies are C-contiguous
            if plan in (None, "copy_a"):
                a = self.contiguous(a)
            if plan in (None, "copy_b"):
                b = self.contiguous(b)
            plan = gemm_plan(a.shape, a.strides, b.shape, b.strides)
        batch, (op_a, ld_a, stride_a), (op_b, ld_b, stride_b) = plan
        self.rt.activate()
        # Row-major C = A @ B is column-major C^T = B^T @ A^T.
        self.rt.blas.gemm_strided_batched(a.dtype.name, op_b, op_a, n, m, k, b.ptr, ld_b, stride_b,
                                          a.ptr, ld_a, stride_a, out.ptr, max(n, 1), m * n, batch)
        return out

    def _matmul_naive(self, a: CUDAArray, b: CUDAArray, out: CUDAArray) -> CUDAArray:
        a, b = self._dense(a), self._dense(b)
        m, k = a.shape[-2:]
        n = b.shape[-1]
        batch = out.size // (m * n)
        name = a.dtype.name
        fn = self.rt.function("matmul_naive", (name,), f"nr_matmul_naive_{name}", "PPPqqqq")
        self.rt.launch(fn, out.size, out.ptr, a.ptr, b.ptr, np.int64(batch), np.int64(m), np.int64(n),
                       np.int64(k))
        return out
