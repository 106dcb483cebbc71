"""The CPU backend: tensors are numpy views over a flat storage array.

Every method takes and returns backend arrays (``numpy.ndarray`` here). The
arithmetic runs in the Cython kernels of ``neurarust._core`` (through
``cpu_kernels``). numpy is used for allocation and for building views, and --
until kernels of ours replace them -- for advanced-index gather/put
(``getitem``/``index_put_``), ``flip``, ``tri``, ``sort``, ``unique`` and the
random generators (see "NumPy fallbacks" in ``docs/architecture.rst``).
"""
from __future__ import annotations

import numpy as np

from .._core import linalg as _linalg
from .._core import nn_kernels as _nn_kernels
from .._core import optim_kernels as _optim_kernels
from .._core.host_memory import empty as _empty
from .._core.cpu_backend_core import CPUBackendCore
from ..errors import ShapeError
from . import cpu_kernels as K


def _ndarray_view(storage, shape, strides, offset):
    itemsize = storage.itemsize
    return np.ndarray(shape, storage.dtype, buffer=storage, offset=offset * itemsize,
                      strides=tuple(s * itemsize for s in strides))


class CPUBackend(CPUBackendCore):
    """Kernels and memory for ``device('cpu')`` (hot methods inherited from the Cython core)."""

    name = "cpu"

    def __init__(self, device):
        self.device = device

    # ----------------------------------------------------------------- memory
    def zeros(self, shape, np_dtype):
        return np.zeros(shape, np_dtype)

    def full(self, shape, value, np_dtype):
        return np.full(shape, value, np_dtype)

    def from_numpy(self, array, non_blocking=False):
        return array

    def to_numpy(self, arr):
        return arr

    def storage_of(self, arr):
        """A flat 1-D array spanning the memory of a root array (strides are >= 0)."""
        if arr.flags.c_contiguous and arr.base is None:
            return arr.reshape(-1)
        span = 1 + sum((n - 1) * s for n, s in zip(arr.shape, arr.strides)) // arr.itemsize if arr.size else 0
        return np.lib.stride_tricks.as_strided(arr, shape=(span,), strides=(arr.itemsize,))

    def view(self, storage, shape, strides, offset):
        return _ndarray_view(storage, shape, strides, offset)

    def reshape_view(self, arr, shape):
        """A view of a C-contiguous array with a new shape (never a copy)."""
        out = arr.reshape(shape)
        return out

    def permute(self, arr, dims):
        return arr.transpose(dims)

    def data_ptr(self, arr) -> int:
        return arr.__array_interface__["data"][0]

    def element_strides(self, arr):
        itemsize = arr.itemsize
        return tuple(s // itemsize for s in arr.strides)

    def is_c_contiguous(self, arr) -> bool:
        return arr.flags.c_contiguous

    def copy_(self, dst, src):
        """Write ``src`` (broadcast, cast) into ``dst`` in place."""
        K.copy(src, dst)

    def contiguous(self, arr):
        out = np.empty(arr.shape, arr.dtype)
        K.copy(arr, out)
        return out

    def cast(self, arr, np_dtype):
        out = np.empty(arr.shape, np_dtype)
        K.copy(arr, out)
        return out


    # ------------------------------------------------------------ elementwise
    def where(self, cond, a, b):
        out = np.empty(np.broadcast_shapes(cond.shape, a.shape, b.shape), a.dtype)
        K.where(cond, a, b, out)
        return out

    def clamp(self, a, lo, hi, out=None):
        if out is None:
            shapes = [a.shape] + [x.shape for x in (lo, hi) if x is not None]
            out = np.empty(np.broadcast_shapes(*shapes), a.dtype)
        K.clamp(a, lo, hi, out)
        return out

    def lerp(self, start, end, weight, out=None):
        if out is None:
            out = np.empty(np.broadcast_shapes(start.shape, end.shape, weight.shape), start.dtype)
        K.lerp(start, end, weight, out)
        return out

    def nan_to_num(self, a, nan, posinf, neginf):
        out = np.empty(a.shape, a.dtype)
        K.nan_to_num(a, out, nan, posinf, neginf)
        return out

    # ------------------------------------------------------------- reductions
    def reduce(self, op, a, axes, out_dtype):
        shape = tuple(n for d, n in enumerate(a.shape) if d not in axes) if axes else ()
        out = np.empty(shape, out_dtype)
        K.reduce(op, a, tuple(axes), out)
        return out

    def arg_reduce(self, op, a, axis, with_values):
        shape = () if axis is None else a.shape[:axis] + a.shape[axis + 1:]
        values = np.empty(shape, a.dtype) if with_values else None
        indices = np.empty(shape, np.int64)
        K.arg_reduce(op, a, -1 if axis is None else axis, values, indices)
        return values, indices

    def var(self, a, axes, correction):
        shape = tuple(n for d, n in enumerate(a.shape) if d not in axes) if axes else ()
        out = np.empty(shape, a.dtype)
        K.var(a, tuple(axes), correction, out)
        return out

    def cumulative(self, op, a, axis, out_dtype):
        out = np.empty(a.shape, out_dtype)
        K.cumulative(op, a, axis, out)
        return out

    def softmax(self, a, axis, log):
        out = np.empty(a.shape, a.dtype)
        K.softmax(a, axis, out, log)
        return out

    def logsumexp(self, a, axes):
        shape = tuple(n for d, n in enumerate(a.shape) if d not in axes) if axes else ()
        out = np.empty(shape, a.dtype)
        K.logsumexp(a, tuple(axes), out)
        return out

    # --------------------------------------------------------- linear algebra
    def matmul(self, a, b):
        """Batched matmul: a (..., M, K), b (..., K, N) with equal batch dims."""
        out = _empty(a.shape[:-1] + (b.shape[-1],), a.dtype)
        K.matmul(a, b, out)
        return out

    def linear(self, x, w, bias):
        """``x @ w.T + bias`` for float32/float64 x (M, K), w (N, K), bias None or (N,): one GEMM."""
        out = _empty((x.shape[0], w.shape[0]), x.dtype)
        _linalg.linear(x, w, bias if bias is None or bias.flags.c_contiguous else self.contiguous(bias),
                       out)
        return out

    # --------------------------------------------------------------- indexing
    def index_select(self, a, axis, index):
        out = np.empty(a.shape[:axis] + (index.shape[0],) + a.shape[axis + 1:], a.dtype)
        K.index_select(a, axis, index, out)
        return out

    def gather(self, a, axis, index):
        out = np.empty(index.shape, a.dtype)
        K.gather(a, axis, index, out)
        return out

    def scatter_(self, out, axis, index, src, reduce):
        K.scatter(out, axis, index, src, reduce)

    def index_add_(self, out, axis, index, src, alpha):
        K.index_add(out, axis, index, src, alpha)

    def take(self, a, index):
        out = np.empty(index.shape, a.dtype)
        K.take(a, index, out)
        return out

    def masked_select(self, a, mask):
        return K.masked_select(a, mask)

    def masked_fill_(self, a, mask, value):
        K.masked_fill(a, mask, value)

    def nonzero(self, a):
        return K.nonzero(a)

    def getitem(self, a, key):
        """Advanced (copying) indexing; ``key`` holds ints, slices, None, Ellipsis and int64 arrays."""
        return np.array(a[key], order="C", copy=True)  # keeps 0-d results 0-d

    def index_put_(self, a, key, values, accumulate):
        """``a[key] = values`` (or ``+=`` with repeats accumulating); numpy checks bounds before writing."""
        if accumulate:
            np.add.at(a, key, values)
        else:
            a[key] = values

    def cat(self, arrays, axis, np_dtype):
        shape = list(arrays[0].shape)
        shape[axis] = sum(x.shape[axis] for x in arrays)
        out = np.empty(shape, np_dtype)
        start = 0
        index = [slice(None)] * len(shape)
        for x in arrays:
            index[axis] = slice(start, start + x.shape[axis])
            K.copy(x, out[tuple(index)])
            start += x.shape[axis]
        return out

    def flip(self, a, axes):
        return np.array(np.flip(a, axes), order="C", copy=True)




    def tri(self, a, diagonal, upper):
        rows, cols = a.shape[-2:]
        keep = np.triu(np.ones((rows, cols), bool), diagonal) if upper else np.tril(np.ones((rows, cols), bool), diagonal)
        return np.where(keep, a, np.zeros((), a.dtype))

    def sort(self, a, axis, descending, stable):
        keys = a
        if descending:
            # Negating keys keeps the sort stable in descending order; NaN must
            # still sort as the largest value, as in torch.
            if a.dtype.kind == "f":
                keys = np.where(np.isnan(a), -np.inf, -a)
                nan_first = np.isnan(a)
                idx = np.argsort(keys, axis=axis, kind="stable")
                order = np.argsort(~np.take_along_axis(nan_first, idx, axis), axis=axis, kind="stable")
                idx = np.take_along_axis(idx, order, axis)
            elif a.dtype == np.bool_:
                idx = np.argsort(~a, axis=axis, kind="stable")
            else:
                idx = np.argsort(-a.astype(np.float64) if a.dtype.kind == "u" else _negate_int(a), axis=axis, kind="stable")
        else:
            idx = np.argsort(keys, axis=axis, kind="stable")
        values = np.take_along_axis(a, idx, axis)
        return values, idx.astype(np.int64, copy=False)

    def unique(self, a, sorted_, return_inverse, return_counts, axis):
        result = np.unique(a, return_inverse=return_inverse, return_counts=return_counts, axis=axis)
        if not isinstance(result, tuple):
            return result
        # numpy gives intp inverse/counts; NeuraRust index tensors are int64.
        return (result[0],) + tuple(np.array(r, np.int64, order="C") for r in result[1:])

    # ----------------------------------------------------------------- random
    def random(self, generator, kind, shape, np_dtype, *params):
        rng = generator._numpy_generator()
        if kind == "uniform":
            low, high = params
            out = rng.random(shape, dtype=np.float64 if np_dtype == np.float64 else np.float32)
            out = out * (high - low) + low if (low, high) != (0.0, 1.0) else out
        elif kind == "normal":
            mean, std = params
            out = rng.standard_normal(shape, dtype=np.float64 if np_dtype == np.float64 else np.float32)
            out = out * std + mean if (mean, std) != (0.0, 1.0) else out
        elif kind == "randint":
            low, high = params
            out = rng.integers(low, high, shape, dtype=np.int64)
        elif kind == "permutation":
            out = rng.permutation(params[0])
        else:  # pragma: no cover - internal misuse
            raise ValueError(kind)
        return np.asarray(out).astype(np_dtype, copy=False)

    def bernoulli(self, generator, p):
        rng = generator._numpy_generator()
        return (rng.random(p.shape) < p).astype(p.dtype)

    def multinomial(self, generator, probs, num_samples, replacement):
        rng = generator._numpy_generator()
        rows = probs.reshape(-1, probs.shape[-1]).astype(np.float64)
        out = np.empty((rows.shape[0], num_samples), np.int64)
        for i, row in enumerate(rows):
            p = row / row.sum()
            out[i] = rng.choice(row.shape[0], size=num_samples, replace=replacement, p=p)
        return out.reshape(probs.shape[:-1] + (num_samples,))

    # ------------------------------------------------------------- optimizers
    # Fused in-place updates (neurarust/_core/optim_kernels.pyx).  Each returns
    # False, touching nothing, when the dtype has no kernel, so the optimizer
    # falls back to its tensor-op path.  Absent buffers are None.
    _OPTIM_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

    def sgd_step_(self, param, grad, momentum_buffer, lr, momentum, dampening, weight_decay,
                  nesterov, maximize, first):
        if param.dtype not in self._OPTIM_DTYPES or grad.dtype != param.dtype:
            return False
        _optim_kernels.sgd_step(param, grad, momentum_buffer, lr, momentum, dampening,
                                weight_decay, nesterov, maximize, first)
        return True

    def adam_step_(self, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2,
                   eps, weight_decay, decoupled, step_size, bias_correction2_sqrt, maximize):
        if param.dtype not in self._OPTIM_DTYPES or grad.dtype != param.dtype:
            return False
        _optim_kernels.adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1,
                                 beta2, eps, weight_decay, decoupled, step_size,
                                 bias_correction2_sqrt, maximize)
        return True

    def rmsprop_step_(self, param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps,
                      weight_decay, momentum, maximize):
        if param.dtype not in self._OPTIM_DTYPES or grad.dtype != param.dtype:
            return False
        _optim_kernels.rmsprop_step(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha,
                                    eps, weight_decay, momentum, maximize)
        return True

    def adagrad_step_(self, param, grad, state_sum, clr, weight_decay, eps, maximize):
        if param.dtype not in self._OPTIM_DTYPES or grad.dtype != param.dtype:
            return False
        _optim_kernels.adagrad_step(param, grad, state_sum, clr, weight_decay, eps, maximize)
        return True


def _negate_int(a):
    # int64 min has no negation; sorting on the bitwise complement keeps the order reversed without overflow.
    return ~a


def broadcast_shapes(*shapes):
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise ShapeError(f"shapes {', '.join(str(tuple(s)) for s in shapes)} cannot be broadcast together") from None


# ------------------------------------------------------------------ nn kernels
# Appended as functions bound onto CPUBackend so that several kernel families
# can be added to this file independently.
def _cross_entropy_forward(self, logits, target, weight, ignore_index, label_smoothing):
    """Fused log-softmax + NLL over (N, C) logits: per-row (lse, loss, nll, smooth, w_target)."""
    from .._core import nn_kernels

    if not logits.flags.c_contiguous:
        logits = self.contiguous(logits)
    return nn_kernels.cross_entropy_forward(logits, np.ascontiguousarray(target), weight,
                                            int(ignore_index), float(label_smoothing))


def _cross_entropy_backward(self, logits, target, weight, ignore_index, lse, gout, ca, cb):
    """``softmax - one_hot`` scaled per row, in one pass (see ``nr_nn_loss.h``)."""
    from .._core import nn_kernels

    if not logits.flags.c_contiguous:
        logits = self.contiguous(logits)
    if gout is not None and not gout.flags.c_contiguous:
        gout = self.contiguous(gout)
    return nn_kernels.cross_entropy_backward(logits, np.ascontiguousarray(target), weight,
                                             int(ignore_index), lse, gout, float(ca), float(cb))


def _relu_backward(self, g, y):
    """``0 where y <= 0 else g`` in one pass; None (caller falls back) for other dtypes or shapes."""
    if g.dtype != y.dtype or g.shape != y.shape or y.dtype not in self._OPTIM_DTYPES:
        return None
    out = _empty(y.shape, y.dtype)
    _nn_kernels.relu_backward(_c(g), _c(y), out)
    return out


CPUBackend.cross_entropy_forward = _cross_entropy_forward
CPUBackend.cross_entropy_backward = _cross_entropy_backward
CPUBackend.relu_backward = _relu_backward


# ------------------------------------------------- convolution, pooling, norms
# Kernels in neurarust/_core/{conv,pool,norm}.pyx take C-contiguous NCHW arrays;
# these methods make operands contiguous and allocate the outputs.
def _c(arr):
    return arr if arr is None or arr.flags.c_contiguous else np.ascontiguousarray(arr)


def _conv_methods():
    from .._core import conv as C
    from .._core import norm as NK
    from .._core import pool as P

    # Outputs come from host_memory.empty: it reuses the pages of dead arrays
    # instead of faulting in fresh ones every step.
    empty = _empty

    def im2col(self, x, kernel, stride, padding, dilation, out_hw):
        """(N, C, H, W) -> (N, C*kh*kw, OH*OW); ``padding`` is the leading (top, left) pad."""
        n, c = x.shape[:2]
        cols = empty((n, c * kernel[0] * kernel[1], out_hw[0] * out_hw[1]), x.dtype)
        C.im2col(_c(x), cols, *kernel, *stride, *padding, *dilation, *out_hw)
        return cols

    def col2im(self, cols, input_shape, kernel, stride, padding, dilation, out_hw):
        """Adjoint of :meth:`im2col`: sums columns back into an (N, C, H, W) array."""
        x = empty(input_shape, cols.dtype)
        C.col2im(_c(cols), x, *kernel, *stride, *padding, *dilation, *out_hw)
        return x

    def conv2d(self, x, w, bias, stride, padding, dilation, groups, out_hw):
        y = empty((x.shape[0], w.shape[0]) + tuple(out_hw), x.dtype)
        C.conv2d_forward(_c(x), _c(w), _c(bias), y, *stride, *padding,
                         *dilation, groups)
        return y

    def conv2d_input_grad(self, g, w, input_shape, stride, padding, dilation, groups):
        gx = empty(input_shape, g.dtype)
        C.conv2d_input_grad(_c(g), _c(w), gx, *stride, *padding, *dilation, groups)
        return gx

    def conv2d_weight_grad(self, x, g, weight_shape, stride, padding, dilation, groups):
        gw = empty(weight_shape, x.dtype)
        C.conv2d_weight_grad(_c(x), _c(g), gw, *stride, *padding, *dilation, groups)
        return gw

    def max_pool2d(self, x, kernel, stride, padding, dilation, out_hw):
        shape = x.shape[:2] + tuple(out_hw)
        y, idx = empty(shape, x.dtype), empty(shape, np.int64)
        P.max_pool2d_forward(_c(x), y, idx, *kernel, *stride, *padding, *dilation)
        return y, idx

    def max_pool2d_backward(self, g, indices, input_shape):
        gx = empty(input_shape, g.dtype)
        P.max_pool2d_backward(_c(g), _c(indices), gx)
        return gx

    def avg_pool2d(self, x, kernel, stride, padding, out_hw, count_include_pad, divisor):
        y = empty(x.shape[:2] + tuple(out_hw), x.dtype)
        P.avg_pool2d_forward(_c(x), y, *kernel, *stride, *padding, count_include_pad, divisor or 0)
        return y

    def avg_pool2d_backward(self, g, input_shape, kernel, stride, padding, count_include_pad,
                            divisor):
        gx = empty(input_shape, g.dtype)
        P.avg_pool2d_backward(_c(g), gx, *kernel, *stride, *padding, count_include_pad, divisor or 0)
        return gx

    def adaptive_avg_pool2d(self, x, out_hw):
        y = empty(x.shape[:2] + tuple(out_hw), x.dtype)
        P.adaptive_avg_pool2d_forward(_c(x), y)
        return y

    def adaptive_avg_pool2d_backward(self, g, input_shape):
        gx = empty(input_shape, g.dtype)
        P.adaptive_avg_pool2d_backward(_c(g), gx)
        return gx

    def batch_norm(self, x3, weight, bias, mean, rstd, eps, training):
        """Batch norm over (N, C, S). In training, returns fresh float64 (mean, rstd, biased var)."""
        c = x3.shape[1]
        y = np.empty(x3.shape, x3.dtype)
        if training:
            mean, rstd, var = np.empty(c), np.empty(c), np.empty(c)
        else:
            mean, rstd, var = _c(mean.astype(np.float64)), _c(rstd.astype(np.float64)), np.empty(c)
        NK.batch_norm_forward(_c(x3), _c(weight), _c(bias), mean, rstd, var, y, eps, training)
        return y, mean, rstd, var

    def batch_norm_backward(self, g3, x3, mean, rstd, weight, needs, training):
        c = x3.shape[1]
        gx = np.empty(x3.shape, x3.dtype) if needs[0] else None
        gw = np.empty(c, x3.dtype) if needs[1] else None
        gb = np.empty(c, x3.dtype) if needs[2] else None
        NK.batch_norm_backward(_c(g3), _c(x3), mean, rstd, _c(weight), gx, gw, gb, training)
        return gx, gw, gb

    def group_norm(self, x3, groups, weight, bias, eps):
        """Group norm over (N, C, S) (``groups == 0``: layer norm over rows of a 2-D array)."""
        rows = x3.shape[0] * (groups or 1)
        y, mean, rstd = np.empty(x3.shape, x3.dtype), np.empty(rows), np.empty(rows)
        if groups:
            NK.group_norm_forward(_c(x3), groups, _c(weight), _c(bias), mean, rstd, y, eps)
        else:
            NK.layer_norm_forward(_c(x3), _c(weight), _c(bias), mean, rstd, y, eps)
        return y, mean, rstd

    def group_norm_backward(self, g3, x3, groups, mean, rstd, weight, needs):
        c = x3.shape[1]
        gx = np.empty(x3.shape, x3.dtype) if needs[0] else None
        gw = np.empty(c, x3.dtype) if needs[1] else None
        gb = np.empty(c, x3.dtype) if needs[2] else None
        if groups:
            NK.group_norm_backward(_c(g3), _c(x3), groups, mean, rstd, _c(weight), gx, gw, gb)
        else:
            NK.layer_norm_backward(_c(g3), _c(x3), mean, rstd, _c(weight), gx, gw, gb)
        return gx, gw, gb

    return {name: fn for name, fn in locals().items()
            if callable(fn) and name not in ("C", "P", "NK", "empty")}


for _name, _fn in _conv_methods().items():
    setattr(CPUBackend, _name, _fn)
