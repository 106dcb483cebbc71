"""Cumulative reductions along one dim: cumsum, cumprod."""
from __future__ import annotations

from ..autograd.function import Function
from ._reduction_common import _accumulating_input, _finish
from ._util import backend, dtype_arg, wrap_dim


class CumSum(Function):
    @staticmethod
    def forward(ctx, x, dim, dtype):
        data, dtype, out_dtype = _accumulating_input(x, dtype)
        ctx.dim = dim
        result = backend(x).cumulative("cumsum", data, dim, out_dtype.numpy)
        return _finish(x, result, (), False, dtype)

    @staticmethod
    def backward(ctx, g):
        return g.flip(ctx.dim).cumsum(ctx.dim).flip(ctx.dim), None, None


def cumsum(input, dim: int, *, dtype=None):
    """Cumulative sum along ``dim``.

    Example:
        >>> import neurarust as nr
        >>> nr.tensor([1, 2, 3]).cumsum(0)
        tensor([1, 3, 6])
    """
    d = wrap_dim(dim, input.ndim, "cumsum") if input.ndim else 0
    if input.ndim == 0:
        return input.reshape(1).cumsum(0, dtype=dtype).reshape(())
    return CumSum.apply(input, d, dtype_arg(dtype))


class CumProd(Function):
    @staticmethod
    def forward(ctx, x, dim, dtype):
        data, dtype, out_dtype = _accumulating_input(x, dtype)
        result = backend(x).cumulative("cumprod", data, dim, out_dtype.numpy)
        out = _finish(x, result, (), False, dtype)
        ctx.save_for_backward(x, out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        d = ctx.dim
        if not (x == 0).any():
            # sum_{j >= i} g_j out_j / x_i: a reversed cumulative sum.
            return (g * out).flip(d).cumsum(d).flip(d) / x, None, None
        return _cumprod_backward_with_zeros(x, g, d), None, None


def _cumprod_backward_with_zeros(x, g, d):
    """Exact gradient when x has zeros: d out_j / d x_i = prod_{k <= j, k != i} x_k for j >= i."""
    from .creation import arange
    from .elementwise import where
    from .indexing import cat

    n = x.shape[d]
    shape = [1] * x.ndim
    shape[d] = n
    positions = arange(n, device=x.device).reshape(shape)
    grads = []
    for i in range(n):
        partial = where(positions == i, 1.0, x).cumprod(d)
        grads.append((g * partial * (positions >= i)).sum(d, keepdim=True))
    return cat(grads, d)


def cumprod(input, dim: int, *, dtype=None):
    """Cumulative product along ``dim``.

    Example:
        >>> import neurarust as nr
        >>> nr.tensor([1, 2, 3]).cumprod(0)
        tensor([1, 2, 6])
    """
    if input.ndim == 0:
        return input.reshape(1).cumprod(0, dtype=dtype).reshape(())
    return CumProd.apply(input, wrap_dim(dim, input.ndim, "cumprod"), dtype_arg(dtype))
