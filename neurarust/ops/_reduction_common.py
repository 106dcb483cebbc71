"""What the reduction modules share: the compute dtype, shaping the result, and
broadcasting a gradient back over the reduced dims.

The public reductions are in ``reduce_sum``, ``reduce_extrema``, ``reduce_stats``,
``reduce_softmax`` and ``reduce_cumulative``; ``neurarust.ops.reduction``
re-exports them all.
"""
from __future__ import annotations

import math

from ..autograd.grad_mode import GradMode
from ..dtypes import FLOATING, float16, float32, int64
from ._util import backend, view_of, wrap
from .views import Expand


def _kept_shape(shape, dims):
    """The shape with reduced dims set to 1 (``dims == ()`` means all)."""
    if not dims:
        return tuple(1 for _ in shape)
    return tuple(1 if i in dims else n for i, n in enumerate(shape))


def _to_compute(x, dtype=None):
    """Input array in the dtype the kernel runs in (float16 runs in float32)."""
    target = dtype or x._dtype
    if target is float16:
        target = float32
    b = backend(x)
    return (x._data if target is x._dtype else b.cast(x._data, target.numpy)), target


def _accumulating_input(x, dtype):
    """``(input array, result dtype, kernel output dtype)`` of sum, prod, cumsum and cumprod.

    As in torch, integers and bools accumulate in int64 unless ``dtype`` says otherwise.
    """
    if dtype is None:
        dtype = int64 if x._dtype.category < FLOATING else x._dtype
    data, cdt = _to_compute(x, dtype if dtype.category == FLOATING else None)
    return data, dtype, (cdt if cdt.category == FLOATING else int64)


def _finish(x, data, dims, keepdim, dtype):
    b = backend(x)
    if data.dtype != dtype.numpy:
        data = b.cast(data, dtype.numpy)
    out = wrap(data, x._device, dtype)
    if keepdim and x.ndim:
        out = out.reshape(_kept_shape(tuple(x.shape), dims))
    return out


def _grad_expand(g, in_shape, dims, keepdim):
    """Broadcast a reduction's gradient back over the reduced dims."""
    if not keepdim and dims and in_shape:
        g = g.reshape(_kept_shape(in_shape, dims))
    if g._data.shape == in_shape:
        return g
    if not GradMode.enabled and g._data.size == 1 and math.prod(in_shape) == 1:
        # A 1-element input (a loss, a scalar parameter): the gradient is g reshaped, a plain
        # view (nothing to record without create_graph), much cheaper than an Expand node.
        return view_of(g, backend(g).reshape_view(g._data, in_shape))
    # A full reduction's 0-d gradient expands as is (new leading dims): no reshape needed.
    return Expand.apply(g, in_shape)


def _count(shape, dims):
    if not dims:
        return math.prod(shape)
    return math.prod(shape[d] for d in dims)
