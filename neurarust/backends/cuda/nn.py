"""nn methods of the CUDA backend: convolution and pooling (kernels in ``kernels/nn.py``).

Same signatures and results as the CPU backend's methods (``backends/cpu.py``,
``_core/conv.pyx``, ``_core/pool.pyx``); operands are made C-contiguous
first, as there.  The norms and losses (``nn_norm.py``) and the fused
optimizer steps (``nn_optim.py``) are mixed in here.

Convolution is im2col + one cuBLAS GEMM (``self.matmul``):

* ``groups == 1``: columns (N, K, L) and the weight broadcast over the batch
  with a zero stride, so the batched GEMM writes (N, O, L) -- the output's
  own layout -- and only the bias is added afterwards;
* ``groups > 1``: columns (G, K, N*L), so one GEMM per group covers the whole
  batch; its (O, N, L) result is transposed into NCHW (with the bias) by one
  kernel.

The input gradient is the transposed GEMM followed by a gather-form col2im
(no atomics); the weight gradient folds the batch into the GEMM's inner
dimension, so the sum over the batch happens inside cuBLAS.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .array import CUDAArray
from .codegen import kernel_name
from .kernels import nn as K
from .nn_norm import NormLossMethods
from .nn_optim import OptimMethods

__all__ = ["NNMethods", "use_wide_index", "conv_col_strides"]

# Kernels index with 32-bit ints below this many elements; the headroom keeps a
# grid-stride index (< limit + one grid of threads) from overflowing.
INT32_LIMIT = 1 << 30


def use_wide_index(*sizes: int) -> bool:
    """Whether a launch needs 64-bit index arithmetic (some size reaches 2**30).

    Example:
        >>> use_wide_index(1000, 2**20), use_wide_index(2**31)
        (False, True)
    """
    return max(sizes, default=0) >= INT32_LIMIT


def conv_col_strides(grouped: bool, n: int, k: int, length: int):
    """``(sG, sK, sN)``: where column entry (group g, row k, sample n, position l) lives.

    Batched layout (N, K, L) for ``groups == 1``; grouped layout (G, K, N*L) otherwise.

    Example:
        >>> conv_col_strides(False, 2, 9, 16), conv_col_strides(True, 2, 9, 16)
        ((0, 16, 144), (288, 32, 16))
    """
    if grouped:
        return k * n * length, n * length, length
    return 0, length, k * length


def _is_identity(kernel, stride, padding, in_hw, out_hw) -> bool:
    """A 1x1 kernel with stride 1 and no padding: the input is its own column matrix."""
    return (tuple(kernel) == (1, 1) and tuple(stride) == (1, 1) and tuple(padding) == (0, 0)
            and tuple(in_hw) == tuple(out_hw))


class NNMethods(NormLossMethods, OptimMethods):
    """conv/pool here; norms, losses and optimizer steps from the mixins."""

    # ------------------------------------------------------------- helpers

    def _nn_launch(self, family: str, kind: str, op: str, dtype, n: int, ptrs: Sequence[int],
                   ints: Sequence[int], wide: bool, tail: Sequence = ()) -> None:
        """Grid-stride launch of ``<kind>_<op>``: pointers, index-typed ints, then ``tail`` ints."""
        suffix = "i64" if wide else "i32"
        fn = self.rt.function(family, (dtype.name,), kernel_name(kind, op, dtype.name, suffix),
                              K.arg_format(kind, op, wide))
        ix = np.int64 if wide else np.int32
        self.rt.launch(fn, n, *ptrs, *(ix(v) for v in ints), *tail)

    def _unfold(self, op: str, x_shape, src, dst, groups, kernel, stride, padding, dilation, out_hw,
                strides) -> None:
        """im2col (``src`` = image) or col2im (``src`` = columns) with the given column strides."""
        n, c, h, w = x_shape
        total = n * c * h * w if op == "col2im" else c * kernel[0] * kernel[1] * n * out_hw[0] * out_hw[1]
        wide = use_wide_index(total, src.size, dst.size)
        ints = (n, c, h, w, *kernel, *stride, *padding, *dilation, *out_hw, c // groups, *strides)
        self._nn_launch("nn_conv", "conv", op, src.dtype, total, (src.ptr, dst.ptr), ints, wide)

    def _channel_major(self, g: CUDAArray) -> CUDAArray:
        """(N, O, OH, OW) -> contiguous (O, N, L): each group's rows become one matrix over the batch."""
        n, o = g.shape[:2]
        g3 = self.reshape_view(g, (n, o, g.shape[2] * g.shape[3]))
        if n == 1:
            return self.reshape_view(g3, (o, 1, g3.shape[2]))
        return self.contiguous(self.permute(g3, (1, 0, 2)))

    # --------------------------------------------------------- convolution
    def im2col(self, x, kernel, stride, padding, dilation, out_hw):
        """(N, C, H, W) -> (N, C*kh*kw, OH*OW); ``padding`` is the leading (top, left) pad."""
        x = self._dense(x)
        n, c = x.shape[:2]
        k, length = c * kernel[0] * kernel[1], out_hw[0] * out_hw[1]
        cols = self.empty((n, k, length), x.dtype)
        self._unfold("im2col", x.shape, x, cols, 1, kernel, stride, padding, dilation, out_hw,
                     conv_col_strides(False, n, k, length))
        return cols

    def col2im(self, cols, input_shape, kernel, stride, padding, dilation, out_hw):
        """Adjoint of :meth:`im2col`: sums columns back into an (N, C, H, W) array."""
        cols = self._dense(cols)
        n, c = input_shape[:2]
        k, length = c * kernel[0] * kernel[1], out_hw[0] * out_hw[1]
        x = self.empty(tuple(input_shape), cols.dtype)
        self._unfold("col2im", x.shape, cols, x, 1, kernel, stride, padding, dilation, out_hw,
                     conv_col_strides(False, n, k, length))
        return x

    def conv2d(self, x, w, bias, stride, padding, dilation, groups, out_hw):
        x, w, bias = self._dense(x), self._dense(w), self._dense(bias)
        n, c, h, wd = x.shape
        o, cg, kh, kw = w.shape
        length, k = out_hw[0] * out_hw[1], cg * kh * kw
        out_shape = (n, o) + tuple(out_hw)
        if n * o * length == 0:
            return self.empty(out_shape, x.dtype)
        geom = ((kh, kw), stride, padding, dilation, out_hw)
        if groups == 1:
            if _is_identity((kh, kw), stride, padding, (h, wd), out_hw):
                cols = self.reshape_view(x, (n, c, h * wd))
            else:
                cols = self.empty((n, k, length), x.dtype)
                self._unfold("im2col", x.shape, x, cols, 1, *geom, conv_col_strides(False, n, k, length))
            # The weight broadcast over the batch (zero stride): the GEMM writes y's own layout.
            y = self.matmul(CUDAArray(w.storage, (n, o, k), (0, k, 1), w.offset, w.dtype), cols)
            if bias is not None:
                self._nn_launch("nn_conv", "conv", "bias_add", x.dtype, y.size, (y.ptr, bias.ptr),
                                (n, o, length), use_wide_index(y.size))
            return self.reshape_view(y, out_shape)
        cols = self.empty((groups, k, n * length), x.dtype)
        self._unfold("im2col", x.shape, x, cols, groups, *geom, conv_col_strides(True, n, k, length))
        out = self.matmul(self.reshape_view(w, (groups, o // groups, k)), cols)  # == (O, N, L)
        if n == 1 and bias is None:
            return self.reshape_view(out, out_shape)
        y = self.empty(out_shape, x.dtype)
        self._nn_launch("nn_conv", "conv", "conv_finish", x.dtype, y.size,
                        (y.ptr, out.ptr, 0 if bias is None else bias.ptr), (n, o, length),
                        use_wide_index(y.size))
        return y

    def conv2d_input_grad(self, g, w, input_shape, stride, padding, dilation, groups):
        g, w = self._dense(g), self._dense(w)
        input_shape = tuple(input_shape)
        n, c, h, wd = input_shape
        o, cg, kh, kw = w.shape
        out_hw = tuple(g.shape[2:])
        length, k = out_hw[0] * out_hw[1], cg * kh * kw
        if n * c * h * wd == 0:
            return self.empty(input_shape, g.dtype)
        geom = ((kh, kw), stride, padding, dilation, out_hw)
        if groups == 1:
            wt = CUDAArray(w.storage, (n, k, o), (0, 1, k), w.offset, w.dtype)  # W^T per sample
            cols = self.matmul(wt, self.reshape_view(g, (n, o, length)))      # (N, K, L)
            if _is_identity((kh, kw), stride, padding, (h, wd), out_hw):
                return self.reshape_view(cols, input_shape)
            strides = conv_col_strides(False, n, k, length)
        else:
            og = o // groups
            wt = CUDAArray(w.storage, (groups, k, og), (og * k, 1, k), w.offset, w.dtype)
            gp = self.reshape_view(self._channel_major(g), (groups, og, n * length))
            cols = self.matmul(wt, gp)                                         # (G, K, N*L)
            strides = conv_col_strides(True, n, k, length)
        gx = self.empty(input_shape, g.dtype)
        self._unfold("col2im", input_shape, cols, gx, groups, *geom, strides)
        return gx

    def conv2d_weight_grad(self, x, g, weight_shape, stride, padding, dilation, groups):
        x, g = self._dense(x), self._dense(g)
        weight_shape = tuple(weight_shape)
        o, cg, kh, kw = weight_shape
        n, c, h, wd = x.shape
        out_hw = tuple(g.shape[2:])
        length, k, og = out_hw[0] * out_hw[1], cg * kh * kw, o // groups
        if o * k == 0:
            return self.empty(weight_shape, x.dtype)
        if n * length == 0:
            return self.zeros(weight_shape, x.dtype)
        if n == 1 and _is_identity((kh, kw), stride, padding, (h, wd), out_hw):
            cols = self.reshape_view(x, (groups, k, length))
        else:
            cols = self.empty((groups, k, n * length), x.dtype)
            self._unfold("im2col", x.shape, x, cols, groups, (kh, kw), stride, padding, dilation,
                         out_hw, conv_col_strides(True, n, k, length))
        nl = n * length
        cols_t = CUDAArray(cols.storage, (groups, nl, k), (k * nl, 1, nl), cols.offset, cols.dtype)
        gp = self.reshape_view(self._channel_major(g), (groups, og, nl))
        return self.reshape_view(self.matmul(gp, cols_t), weight_shape)

    # ------------------------------------------------------------- pooling
    def max_pool2d(self, x, kernel, stride, padding, dilation, out_hw):
        x = self._dense(x)
        p, (h, w) = x.shape[0] * x.shape[1], x.shape[2:]
        shape = x.shape[:2] + tuple(out_hw)
        y, idx = self.empty(shape, x.dtype), self.empty(shape, np.int64)
        total = p * out_hw[0] * out_hw[1]
        self._nn_launch("nn_pool", "pool", "max_pool", x.dtype, total, (x.ptr, y.ptr, idx.ptr),
                        (p, h, w, *out_hw, *kernel, *stride, *padding, *dilation),
                        use_wide_index(total, x.size))
        return y, idx

    def max_pool2d_backward(self, g, indices, input_shape):
        g, indices = self._dense(g), self._dense(indices)
        input_shape = tuple(input_shape)
        gx = self.zeros(input_shape, g.dtype)
        p, hw = input_shape[0] * input_shape[1], input_shape[2] * input_shape[3]
        length = g.shape[2] * g.shape[3]
        if g.size == 0:
            return gx
        bad = self.zeros((1,), np.uint32)
        self._nn_launch("nn_pool", "pool", "max_pool_bwd", g.dtype, g.size,
                        (g.ptr, indices.ptr, gx.ptr, bad.ptr), (p, hw, length),
                        use_wide_index(g.size, gx.size))
        # The CPU kernel validates the indices in the same pass; reading the flag back
        # is this method's one synchronisation.
        if int(self.to_numpy(bad)[0]):
            raise IndexError(f"max_pool2d_backward: index out of range for planes of {hw} elements")
        return gx

    def _avg_launch(self, op, src, dst, plane_shape, out_hw, kernel, stride, padding, include_pad,
                    divisor):
        wide = use_wide_index(src.size, dst.size)
        self._nn_launch("nn_pool", "pool", op, src.dtype, dst.size, (src.ptr, dst.ptr),
                        (*plane_shape, *out_hw, *kernel, *stride, *padding), wide,
                        tail=(np.int32(bool(include_pad)), (np.int64 if wide else np.int32)(divisor or 0)))

    def avg_pool2d(self, x, kernel, stride, padding, out_hw, count_include_pad, divisor):
        x = self._dense(x)
        y = self.empty(x.shape[:2] + tuple(out_hw), x.dtype)
        self._avg_launch("avg_pool", x, y, (x.shape[0] * x.shape[1],) + x.shape[2:], out_hw, kernel,
                         stride, padding, count_include_pad, divisor)
        return y

    def avg_pool2d_backward(self, g, input_shape, kernel, stride, padding, count_include_pad, divisor):
        g = self._dense(g)
        gx = self.empty(tuple(input_shape), g.dtype)
        self._avg_launch("avg_pool_bwd", g, gx, (input_shape[0] * input_shape[1],) + tuple(input_shape[2:]),
                         g.shape[2:], kernel, stride, padding, count_include_pad, divisor)
        return gx

    def _adaptive_launch(self, op, src, dst, x_shape, out_hw):
        n, c, h, w = x_shape
        oh, ow = out_hw
        # Bin bounds multiply a bin index by a size: those products must fit too.
        wide = use_wide_index(src.size, dst.size, (oh + 1) * (h + 1), (ow + 1) * (w + 1))
        self._nn_launch("nn_pool", "pool", op, src.dtype, dst.size, (src.ptr, dst.ptr),
                        (n * c, h, w, oh, ow), wide)

    def adaptive_avg_pool2d(self, x, out_hw):
        x = self._dense(x)
        y = self.empty(x.shape[:2] + tuple(out_hw), x.dtype)
        self._adaptive_launch("adaptive_pool", x, y, x.shape, tuple(out_hw))
        return y

    def adaptive_avg_pool2d_backward(self, g, input_shape):
        g = self._dense(g)
        gx = self.empty(tuple(input_shape), g.dtype)
        self._adaptive_launch("adaptive_pool_bwd", g, gx, tuple(input_shape), tuple(g.shape[2:]))
        return gx
