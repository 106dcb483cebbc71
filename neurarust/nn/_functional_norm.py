"""Normalization for ``nn.functional``: batch, layer and group norm.

The norms run fused kernels (``neurarust/_core/norm.pyx``): forward computes
mean and variance in one pass and writes the normalized output in a second;
backward computes every gradient of a statistics group in one kernel.  Those
backward kernels are not themselves differentiable, so under
``create_graph=True`` backward writes the same gradients with differentiable
tensor ops instead (:func:`_grads_graph`): second derivatives then flow
through the norms as in torch, while the ordinary backward keeps the kernels.

Example:
    >>> import neurarust as nr
    >>> from neurarust.nn._functional_norm import layer_norm
    >>> layer_norm(nr.tensor([[1.0, 3.0]]), (2,))
    tensor([[-1.0000,  1.0000]])
"""
from __future__ import annotations

import math
from typing import Sequence

from ..autograd.function import Function
from ..autograd.grad_mode import GradMode, no_grad
from ..dtypes import float32, float64
from ..errors import DTypeError, ShapeError
from ..ops._util import backend, common_device, wrap

__all__ = ["batch_norm", "layer_norm", "group_norm"]


def _check(op, x, *params):
    common_device(op, x, *params)
    for t in (x,) + params:
        if t is not None and t._dtype is not x._dtype:
            raise DTypeError(f"{op}: expected {'input' if t is x else 'weight and bias'} of dtype "
                             f"{x._dtype.name}, got {t._dtype.name}")
    if x._dtype is not float32 and x._dtype is not float64:
        raise DTypeError(f"{op}: expected a float32 or float64 input, got {x._dtype.name}")


def _grads_graph(x, g, weight, view, groups, eps, param_shape, needs, running=None):
    """The backward kernels' gradients written with differentiable ops (for ``create_graph``).

    ``x`` and ``g`` are viewed as ``view`` = (A, C, S), where ``weight`` scales
    dim 1.  Batch statistics are recomputed from ``x`` so that they stay
    differentiable: with ``groups=None`` one set per channel over (A, S), as
    batch norm has; otherwise one per (sample, group of C / groups channels).
    ``running`` = (mean, rstd) of an eval batch norm are constants instead.
    """
    a, c, s = view
    stats_view = view if groups is None else (a, groups, c // groups * s)
    stat_dims = (0, 2) if groups is None else (2,)
    x3, g3 = x.reshape(view), g.reshape(view)
    xs = x3.reshape(stats_view)
    if running is None:
        mean = xs.mean(stat_dims, keepdim=True)
        rstd = (xs.var(stat_dims, correction=0, keepdim=True) + eps).rsqrt()
    else:
        mean, rstd = running
    x_hat = ((xs - mean) * rstd).reshape(view)
    gx = gw = gb = None
    if needs[0]:
        gh = (g3 if weight is None else g3 * weight.reshape(1, c, 1)).reshape(stats_view)
        if running is None:
            xh = x_hat.reshape(stats_view)
            # Every x of a statistics group moves its mean and variance: these terms project
            # the incoming gradient off those two directions.
            gh = gh - gh.mean(stat_dims, keepdim=True) - xh * (gh * xh).mean(stat_dims, keepdim=True)
        gx = (gh * rstd).reshape(tuple(x.shape))
    if needs[1]:
        gw = (g3 * x_hat).sum((0, 2)).reshape(param_shape)
    if needs[2]:
        gb = g3.sum((0, 2)).reshape(param_shape)
    return gx, gw, gb


def _data(t):
    """A 1-D parameter's array, flat (through the backend: the array may live on a device)."""
    return None if t is None else _as(backend(t), t._data, (t.numel(),))


def _as(bk, arr, shape):
    """``arr`` viewed with ``shape`` (copied first only when it is not C-contiguous)."""
    if not bk.is_c_contiguous(arr):
        arr = bk.contiguous(arr)
    return bk.reshape_view(arr, shape)


class NativeBatchNorm(Function):
    """Batch norm over an (N, C, S) view; differentiable ops replace the kernel under create_graph."""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, eps, stats_out):
        bk = backend(x)
        mean = rstd = None
        if not training:
            mean = running_mean._data
            # In float64 like the batch statistics; tensor ops, so it runs on any device.
            rstd = (running_var.detach().double() + eps).rsqrt()._data
        x3 = _as(bk, x._data, (x.shape[0], x.shape[1], -1))
        y, mean, rstd, var = bk.batch_norm(x3, _data(weight), _data(bias), mean, rstd, eps, training)
        ctx.save_for_backward(x, weight)
        ctx.stats = (mean, rstd, training)
        ctx.eps = eps
        stats_out.extend((mean, var))
        return wrap(bk.reshape_view(y, x._data.shape), x._device, x._dtype)

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        mean, rstd, training = ctx.stats
        if GradMode.enabled:
            n, c = x.shape[0], x.shape[1]
            running = None
            if not training:
                running = tuple(wrap(a, x._device).to(x.dtype).reshape(1, c, 1) for a in (mean, rstd))
            view = (n, c, x.numel() // (n * c) if n * c else 0)
            return _grads_graph(x, g, weight, view, None, ctx.eps, (c,), ctx.needs_input_grad,
                                running) + (None,) * 5
        bk = backend(x)
        shape3 = (x.shape[0], x.shape[1], -1)
        gx, gw, gb = bk.batch_norm_backward(_as(bk, g._data, shape3), _as(bk, x._data, shape3), mean,
                                            rstd, _data(weight), ctx.needs_input_grad[:3], training)
        if gx is not None:
            gx = bk.reshape_view(gx, x._data.shape)
        dev, dt = x._device, x._dtype
        return tuple(None if a is None else wrap(a, dev, dt) for a in (gx, gw, gb)) + (None,) * 5


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5):
    """Batch normalization over dim 1 of an ``(N, C, *)`` input.

    In training, batch statistics are used and the running buffers (when
    given) are updated in place: ``running = (1 - momentum) * running +
    momentum * batch_stat`` (the variance unbiased).  Otherwise the running
    statistics normalize.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn._functional_norm import batch_norm
        >>> rm, rv = nr.zeros(1), nr.ones(1)
        >>> batch_norm(nr.tensor([[1.0], [3.0]]), rm, rv, training=True, eps=0.0).flatten(), rm
        (tensor([-1.,  1.]), tensor([0.2000]))
    """
    _check("batch_norm", input, weight, bias)
    if input.ndim < 2:
        raise ShapeError(f"batch_norm: expected an input with at least 2 dims (N, C, *), got "
                         f"{list(input.shape)}")
    c = input.shape[1]
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if t is not None and tuple(t.shape) != (c,):
            raise ShapeError(f"batch_norm: {name} should contain {c} elements not {t.numel()}")
    if not training and (running_mean is None or running_var is None):
        raise ValueError("batch_norm: running_mean and running_var must be defined in evaluation mode")
    size = input.numel() // c if c else 0
    if training and size <= 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                         f"{list(input.shape)}")
    stats = []  # the kernel's float64 batch mean and biased variance come back here
    y = NativeBatchNorm.apply(input, weight, bias, running_mean, running_var, bool(training), eps,
                              stats)
    if training and (running_mean is not None or running_var is not None):
        mean, var = stats
        with no_grad():
            dev = input._device
            if running_mean is not None:
                running_mean.mul_(1.0 - momentum).add_(wrap(mean, dev).to(running_mean.dtype),
                                                       alpha=momentum)
            if running_var is not None:
                unbiased = (wrap(var, dev) * (size / (size - 1))).to(running_var.dtype)
                running_var.mul_(1.0 - momentum).add_(unbiased, alpha=momentum)
    return y


class NativeLayerNorm(Function):
    """Layer or group norm (``groups == 0``: layer norm of the rows of a 2-D view)."""

    @staticmethod
    def forward(ctx, x, view_shape, weight, bias, groups, eps):
        bk = backend(x)
        y, mean, rstd = bk.group_norm(_as(bk, x._data, view_shape), groups, _data(weight),
                                      _data(bias), eps)
        ctx.save_for_backward(x, weight)
        ctx.stats = (groups, mean, rstd, view_shape)
        ctx.eps = eps
        ctx.shapes = (None if weight is None else tuple(weight.shape),
                      None if bias is None else tuple(bias.shape))
        return wrap(bk.reshape_view(y, x._data.shape), x._device, x._dtype)

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        groups, mean, rstd, view_shape = ctx.stats
        needs = (ctx.needs_input_grad[0],) + tuple(ctx.needs_input_grad[2:4])
        if GradMode.enabled:
            # Layer norm of (R, D) rows is group norm of an (R, D, 1) view with one group.
            view, groups = ((*view_shape, 1), 1) if groups == 0 else (view_shape, groups)
            param_shape = next((shape for shape in ctx.shapes if shape is not None), None)
            gx, gw, gb = _grads_graph(x, g, weight, view, groups, ctx.eps, param_shape, needs)
            return gx, None, gw, gb, None, None
        bk = backend(x)
        gx, gw, gb = bk.group_norm_backward(_as(bk, g._data, view_shape), _as(bk, x._data, view_shape),
                                            groups, mean, rstd, _data(weight), needs)
        dev, dt = x._device, x._dtype
        out = [None if gx is None else wrap(bk.reshape_view(gx, x._data.shape), dev, dt), None]
        for a, shape in zip((gw, gb), ctx.shapes):
            out.append(None if a is None else wrap(_as(bk, a, shape), dev, dt))
        return tuple(out) + (None, None)


class NativeGroupNorm(NativeLayerNorm):
    """Recorded as ``NativeGroupNormBackward0``, as in torch."""


def layer_norm(input, normalized_shape: Sequence[int], weight=None, bias=None, eps: float = 1e-5):
    """Normalizes over the trailing ``normalized_shape`` dims, then applies ``weight``/``bias``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn._functional_norm import layer_norm
        >>> layer_norm(nr.tensor([[0.0, 2.0], [1.0, 5.0]]), [2], bias=nr.tensor([1.0, 1.0]), eps=0.0)
        tensor([[0., 2.],
                [0., 2.]])
    """
    _check("layer_norm", input, weight, bias)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    nd = len(shape)
    if nd == 0 or tuple(input.shape[input.ndim - nd:]) != shape or input.ndim < nd:
        raise ShapeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                         f"[*, {', '.join(map(str, shape))}], but got input of size{list(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise ShapeError(f"layer_norm: expected {name} of shape {list(shape)}, got {list(t.shape)}")
    d = math.prod(shape)
    return NativeLayerNorm.apply(input, (input.numel() // d if d else 0, d), weight, bias, 0, eps)


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5):
    """Normalizes each group of ``C / num_groups`` channels per sample of an ``(N, C, *)`` input.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn._functional_norm import group_norm
        >>> group_norm(nr.tensor([[1.0, 3.0, 5.0, 5.0]]), 2)
        tensor([[-1.0000,  1.0000,  0.0000,  0.0000]])
    """
    _check("group_norm", input, weight, bias)
    if input.ndim < 2:
        raise ShapeError(f"group_norm: expected an input with at least 2 dims (N, C, *), got "
                         f"{list(input.shape)}")
    n, c = input.shape[0], input.shape[1]
    if num_groups < 1 or c % num_groups:
        raise ValueError(f"Expected number of channels in input to be divisible by num_groups, but "
                         f"got input of shape {list(input.shape)} and num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ShapeError(f"group_norm: expected {name} of shape [{c}], got {list(t.shape)}")
    return NativeGroupNorm.apply(input, (n, c, input.numel() // (n * c) if n * c else 0), weight,
                                 bias, int(num_groups), eps)
