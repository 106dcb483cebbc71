"""Batch/group/layer norm and fused cross-entropy on the GPU (kernels in ``kernels/nn_norm.py``).

Signatures and results as in the CPU backend (``backends/cpu.py``,
``_core/norm.pyx``, ``_core/nn_kernels.pyx``): statistics are float64 (C,) or
(rows,) arrays, outputs have the input's dtype, absent weights count as 1
and absent biases as 0.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

from .array import CUDAArray
from .codegen import kernel_name
from .kernels import nn_norm as K

__all__ = ["NormLossMethods", "channel_block"]

F64 = np.dtype(np.float64)


def channel_block(spatial: int) -> Tuple[int, int]:
    """Block shape of the per-channel sum kernels for an (N, C, S) array.

    With S == 1 a block takes 32 neighbouring channels (contiguous in a row) and 8 rows at
    a time; otherwise one channel, whose runs of S values 256 threads read in order.

    Example:
        >>> channel_block(1), channel_block(49)
        ((32, 8), (1, 256))
    """
    return (32, 8) if spatial == 1 else (1, 256)


def _row_block(length: int) -> int:
    """Threads for one block per group: a multiple of 32, at most 256."""
    return max(32, min(256, -(-length // 32) * 32))


def _ptr(a) -> int:
    return 0 if a is None else a.ptr


class NormLossMethods:
    """``batch_norm``, ``group_norm`` (and layer norm), their backwards, and cross-entropy."""

    def _norm_fn(self, op: str, dtype):
        name = np.dtype(dtype).name
        return self.rt.function("nn_norm", (name,), kernel_name("norm", op, name), K.arg_format(op))

    def _as_f64(self, a) -> CUDAArray:
        """Statistics given by the caller (device or host array, any float dtype) as contiguous float64."""
        a = self._device_array(a)
        if a.dtype != F64:
            return self.cast(a, F64)
        return self._dense(a)

    def _channel_launch(self, op: str, dtype, n: int, c: int, s: int, *args) -> None:
        """One of the per-channel sum kernels over an (N, C, S) array."""
        tx, ty = channel_block(s)
        self.rt.launch_grid(self._norm_fn(op, dtype), (-(-c // tx), 1, 1), (tx, ty, 1), *args)

    # -------------------------------------------------------------- batch norm
    def batch_norm(self, x3, weight, bias, mean, rstd, eps, training):
        """Batch norm over (N, C, S). In training, returns fresh float64 (mean, rstd, biased var)."""
        x3, weight, bias = self._dense(x3), self._dense(weight), self._dense(bias)
        n, c, s = x3.shape
        y = self.empty(x3.shape, x3.dtype)
        var = self.empty((c,), F64)
        if training:
            if n * s == 0:
                raise ValueError("batch_norm: no values to compute statistics from")
            mean, rstd = self.empty((c,), F64), self.empty((c,), F64)
            self._channel_launch("bn_stats", x3.dtype, n, c, s, x3.ptr, mean.ptr, rstd.ptr, var.ptr,
                                 np.int64(n), np.int64(c), np.int64(s), np.float64(eps))
        else:
            mean, rstd = self._as_f64(mean), self._as_f64(rstd)
        self.rt.launch(self._norm_fn("bn_apply", x3.dtype), y.size, x3.ptr, _ptr(weight), _ptr(bias),
                       mean.ptr, rstd.ptr, y.ptr, np.int64(y.size), np.int64(c), np.int64(s))
        return y, mean, rstd, var

    def batch_norm_backward(self, g3, x3, mean, rstd, weight, needs, training):
        g3, x3, weight = self._dense(g3), self._dense(x3), self._dense(weight)
        mean, rstd = self._as_f64(mean), self._as_f64(rstd)
        n, c, s = x3.shape
        gx = self.empty(x3.shape, x3.dtype) if needs[0] else None
        gw = self.empty((c,), x3.dtype) if needs[1] else None
        gb = self.empty((c,), x3.dtype) if needs[2] else None
        coef = self.empty((2, c), F64) if gx is not None and training else None
        if gw is not None or gb is not None or coef is not None:
            self._channel_launch("bn_grad_sums", x3.dtype, n, c, s, g3.ptr, x3.ptr, mean.ptr, rstd.ptr,
                                 _ptr(gw), _ptr(gb), _ptr(coef), np.int64(n), np.int64(c), np.int64(s))
        if gx is not None:
            self.rt.launch(self._norm_fn("bn_grad_input", x3.dtype), gx.size, g3.ptr, x3.ptr, mean.ptr,
                           rstd.ptr, _ptr(weight), _ptr(coef), gx.ptr, np.int64(gx.size), np.int64(c),
                           np.int64(s), np.int32(bool(training)))
        return gx, gw, gb

    # ------------------------------------------------- group norm / layer norm
    @staticmethod
    def _gn_geometry(shape, groups):
        """``(N, C, S, G, rows, length, channels per group)``; ``groups == 0``: layer norm of (M, D)."""
        if groups:
            n, c, s = shape
            return n, c, s, groups, n * groups, (c // groups) * s, c // groups
        m, d = shape
        return m, d, 1, 1, m, d, d

    def group_norm(self, x3, groups, weight, bias, eps):
        """Group norm over (N, C, S) (``groups == 0``: layer norm over rows of a 2-D array)."""
        x3, weight, bias = self._dense(x3), self._dense(weight), self._dense(bias)
        n, c, s, g, rows, length, cpr = self._gn_geometry(x3.shape, groups)
        y = self.empty(x3.shape, x3.dtype)
        mean, rstd = self.empty((rows,), F64), self.empty((rows,), F64)
        if rows == 0 or length == 0:
            return y, mean, rstd
        self.rt.launch_grid(self._norm_fn("gn_stats", x3.dtype), (rows, 1, 1), (_row_block(length), 1, 1),
                            x3.ptr, mean.ptr, rstd.ptr, np.int64(length), np.float64(eps))
        self.rt.launch(self._norm_fn("gn_apply", x3.dtype), y.size, x3.ptr, _ptr(weight), _ptr(bias),
                       mean.ptr, rstd.ptr, y.ptr, np.int64(y.size), np.int64(length), np.int64(s),
                       np.int64(cpr), np.int64(c // cpr))
        return y, mean, rstd

    def group_norm_backward(self, g3, x3, groups, mean, rstd, weight, needs):
        g3, x3, weight = self._dense(g3), self._dense(x3), self._dense(weight)
        mean, rstd = self._as_f64(mean), self._as_f64(rstd)
        n, c, s, g, rows, length, cpr = self._gn_geometry(x3.shape, groups)
        gx = self.empty(x3.shape, x3.dtype) if needs[0] else None
        gw = self.empty((c,), x3.dtype) if needs[1] else None
        gb = self.empty((c,), x3.dtype) if needs[2] else None
        if rows == 0 or length == 0:
            for a in (gw, gb):
                if a is not None:
                    self.fill_(a, 0)
            return gx, gw, gb
        if gx is not None:
            self.rt.launch_grid(self._norm_fn("gn_grad_input", x3.dtype), (rows, 1, 1),
                                (_row_block(length), 1, 1), g3.ptr, x3.ptr, mean.ptr, rstd.ptr,
                                _ptr(weight), gx.ptr, np.int64(length), np.int64(s), np.int64(cpr),
                                np.int64(c // cpr))
        if gw is not None or gb is not None:
            self._channel_launch("gn_affine", x3.dtype, n, c, s, g3.ptr, x3.ptr, mean.ptr, rstd.ptr,
                                 _ptr(gw), _ptr(gb), np.int64(n), np.int64(c), np.int64(s), np.int64(g),
                                 np.int64(cpr))
        return gx, gw, gb

    # ------------------------------------------------------------ cross-entropy
    def _ce_weight_total(self, weight, classes):
        """``(device pointer or 0, value)`` of W, the sum of the class weights (C without weights)."""
        if weight is None:
            return 0, float(classes), None
        total = self.empty((1,), F64)
        self.rt.launch_grid(self._norm_fn("ce_weight_total", weight.dtype), (1, 1, 1), (256, 1, 1),
                            weight.ptr, total.ptr, np.int64(classes))
        return total.ptr, 0.0, total  # the array is returned to keep it alive until the launch

    def cross_entropy_forward(self, logits, target, weight, ignore_index, label_smoothing):
        """Fused log-softmax + NLL over (N, C) logits: per-row (lse, loss, nll, smooth, w_target)."""
        x, t, w = self._dense(logits), self._dense(target), self._dense(weight)
        n, c = x.shape
        outs = [self.empty((n,), x.dtype) for _ in range(5)]
        if n == 0:
            return tuple(outs)
        smooth = float(label_smoothing) != 0.0
        wtot_ptr, wtot, _keep = self._ce_weight_total(w, c) if smooth else (0, float(c), None)
        bad = self.zeros((1,), np.uint64)
        rows_per_block = 8  # one warp per row, 256 threads
        grid = max(1, min(-(-n // rows_per_block), self.rt.max_resident_blocks))
        self.rt.launch_grid(self._norm_fn("ce_forward", x.dtype), (grid, 1, 1), (256, 1, 1), x.ptr, t.ptr,
                            _ptr(w), wtot_ptr, np.float64(wtot), np.int64(ignore_index), np.int64(n),
                            np.int64(c), np.int32(smooth), np.float64(label_smoothing),
                            *(a.ptr for a in outs), bad.ptr)
        # Out-of-range targets must raise like the CPU's check: the one synchronisation here.
        flag = int(self.to_numpy(bad)[0])
        if flag:
            row = n - flag
            value = int(self.to_numpy(CUDAArray(t.storage, (), (), t.offset + row, t.dtype)))
            raise IndexError(f"Target {value} is out of bounds: expected a class index in [0, {c - 1}] "
                             f"(or ignore_index={ignore_index}), found at position {row}")
        return tuple(outs)

    def cross_entropy_backward(self, logits, target, weight, ignore_index, lse, gout, ca, cb):
        """``softmax - one_hot`` scaled per row, in one pass (see ``nr_nn_loss.h``)."""
        x, t, w = self._dense(logits), self._dense(target), self._dense(weight)
        lse, gout = self._dense(lse), self._dense(gout)
        n, c = x.shape
        gx = self.empty((n, c), x.dtype)
        if gx.size == 0:
            return gx
        wtot_ptr, wtot, _keep = self._ce_weight_total(w, c)
        self.rt.launch(self._norm_fn("ce_backward", x.dtype), gx.size, x.ptr, t.ptr, _ptr(w), wtot_ptr,
                       np.float64(wtot), np.int64(ignore_index), lse.ptr, _ptr(gout), np.float64(ca),
                       np.float64(cb), gx.ptr, np.int64(n), np.int64(c))
        return gx
