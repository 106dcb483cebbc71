"""Statistics and norms: var, std, var_mean, std_mean, norm."""
from __future__ import annotations

import math

from ..autograd.function import Function
from ..dtypes import FLOATING
from ..errors import DTypeError
from ._reduction_common import _count, _finish, _grad_expand, _to_compute
from ._util import backend, normalize_dims
from .reduce_extrema import amax, amin
from .reduce_sum import mean


class Var(Function):
    @staticmethod
    def forward(ctx, x, dims, correction, keepdim):
        if x._dtype.category != FLOATING:
            raise DTypeError(f"var(): std and var only support floating point dtypes, got {x._dtype}")
        data, cdt = _to_compute(x)
        result = backend(x).var(data, dims, float(correction))
        ctx.save_for_backward(x)
        ctx.meta = (tuple(x.shape), dims, keepdim, correction)
        return _finish(x, result, dims, keepdim, x._dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        in_shape, dims, keepdim, correction = ctx.meta
        n = _count(in_shape, dims)
        centered = x - x.mean(dims if dims else None, keepdim=True)
        # torch's 2 / (N - correction), in floating point: +inf when N == correction.
        scale = 2.0 / (n - correction) if n != correction else math.inf
        return _grad_expand(g, in_shape, dims, keepdim) * centered * scale, None, None, None


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    if unbiased is None:
        return 1
    return 1 if unbiased else 0


def var(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """Variance over ``dim``, dividing by ``N - correction`` (default 1).

    Example:
        >>> import neurarust as nr
        >>> nr.tensor([1.0, 2.0, 3.0, 4.0]).var(), nr.tensor([1.0, 2.0, 3.0, 4.0]).var(correction=0)
        (tensor(1.6667), tensor(1.2500))
    """
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    dims = normalize_dims(dim, input.ndim, "var")
    return Var.apply(input, dims, _correction(unbiased, correction), keepdim)


def std(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """Standard deviation: ``sqrt(var)``.

    Example:
        >>> import neurarust as nr
        >>> nr.tensor([1.0, 3.0]).std()
        tensor(1.4142)
    """
    return _StdFromVar.apply(var(input, dim, unbiased, keepdim, correction=correction))


class _StdFromVar(Function):
    """``sqrt(var)`` whose gradient is 0 where the std is 0 (torch's std_backward), not NaN."""

    @staticmethod
    def forward(ctx, v):
        out = v.sqrt()
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        from .elementwise import where

        return where(out == 0, 0.0, g / (2 * out))


class _NoGradient(Function):
    """``value`` as an output of ``x`` that requires grad but sends back no gradient: torch's
    norm with p=0 (``x.grad`` stays None after backward)."""

    @staticmethod
    def forward(ctx, x, value):
        return value

    @staticmethod
    def backward(ctx, g):
        return None, None


def var_mean(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``(var, mean)`` over ``dim``."""
    return (var(input, dim, unbiased, keepdim, correction=correction),
            mean(input, dim, keepdim))


def std_mean(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``(std, mean)`` over ``dim``."""
    return (std(input, dim, unbiased, keepdim, correction=correction),
            mean(input, dim, keepdim))


def norm(input, p="fro", dim=None, keepdim: bool = False, dtype=None):
    """Vector p-norm (p = 1, 2, inf, -inf, any number) or the Frobenius norm.

    Example:
        >>> import neurarust as nr
        >>> x = nr.tensor([3.0, -4.0])
        >>> x.norm(), x.norm(1), x.norm(float("inf"))
        (tensor(5.), tensor(7.), tensor(4.))
    """
    if dtype is not None:
        input = input.to(dtype)
    if input._dtype.category != FLOATING:
        raise DTypeError(f"norm(): input dtype should be floating point, got {input._dtype}")
    if p is None or p == "fro" or p == 2:
        return _l2(input, dim, keepdim)
    if p == "nuc":
        raise ValueError("norm(): the nuclear norm is not supported")
    if isinstance(p, str):
        raise ValueError(f"norm(): unsupported norm type {p!r}")
    a = input.abs()
    if p == math.inf:
        return amax(a, dim if dim is not None else (), keepdim)
    if p == -math.inf:
        return amin(a, dim if dim is not None else (), keepdim)
    if p == 0:
        return _NoGradient.apply(input, (a != 0).to(input.dtype).sum(dim, keepdim))
    if p == 1:
        return a.sum(dim, keepdim)
    return (a ** p).sum(dim, keepdim) ** (1.0 / p)


def _l2(x, dim, keepdim):
    return _L2Norm.apply(x, normalize_dims(dim, x.ndim, "norm"), keepdim)


class _L2Norm(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        out = (x * x).sum(dims if dims else None, keepdim).sqrt()
        ctx.save_for_backward(x, out)
        ctx.meta = (tuple(x.shape), dims, keepdim)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        in_shape, dims, keepdim = ctx.meta
        denom = _grad_expand(out, in_shape, dims, keepdim)
        from .elementwise import where

        # The subgradient at 0 is 0, as in torch.
        return _grad_expand(g, in_shape, dims, keepdim) * where(denom == 0, 0.0, x / denom), None, None
