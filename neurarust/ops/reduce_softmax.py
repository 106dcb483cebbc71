"""logsumexp, softmax and log_softmax, each computed stably in one fused kernel."""
from __future__ import annotations

from ..autograd.function import Function
from ..dtypes import FLOATING, get_default_dtype
from ..errors import DTypeError
from ._reduction_common import _finish, _grad_expand, _to_compute
from ._util import backend, dtype_arg, normalize_dims, wrap_dim


class LogSumExp(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        data, cdt = _to_compute(x)
        result = backend(x).logsumexp(data, dims)
        out = _finish(x, result, dims, keepdim, x._dtype)
        ctx.save_for_backward(x, out)
        ctx.meta = (tuple(x.shape), dims, keepdim)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        in_shape, dims, keepdim = ctx.meta
        return _grad_expand(g, in_shape, dims, keepdim) * (x - _grad_expand(out, in_shape, dims, keepdim)).exp(), None, None


def logsumexp(input, dim, keepdim: bool = False):
    """``log(sum(exp(x)))`` over ``dim``, computed stably.

    Example:
        >>> import neurarust as nr
        >>> nr.tensor([0.0, 0.0]).logsumexp(0)
        tensor(0.6931)
    """
    if input._dtype.category != FLOATING:
        input = input.to(get_default_dtype())
    return LogSumExp.apply(input, normalize_dims(dim, input.ndim, "logsumexp"), keepdim)


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, dim, log):
        data, cdt = _to_compute(x)
        result = backend(x).softmax(data, dim, log)
        out = _finish(x, result, (), False, x._dtype)
        ctx.save_for_backward(out)
        ctx.meta = (dim, log)
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        dim, log = ctx.meta
        if log:
            return g - y.exp() * g.sum(dim, keepdim=True), None, None
        gy = g * y
        return gy - y * gy.sum(dim, keepdim=True), None, None


def _softmax(input, dim, dtype, log):
    if dtype is not None:
        input = input.to(dtype)
    if input._dtype.category != FLOATING:
        raise DTypeError(f"{'log_' if log else ''}softmax(): expected a floating point tensor, got {input._dtype}")
    if dim is None:
        dim = 0 if input.ndim in (0, 1, 3) else 1  # torch's legacy implicit-dim rule
    if input.ndim == 0:
        return Softmax.apply(input.reshape(1), 0, log).reshape(())
    return Softmax.apply(input, wrap_dim(dim, input.ndim, "softmax"), log)


def softmax(input, dim=None, dtype=None):
    """``exp(x) / sum(exp(x))`` along ``dim``, computed stably in one fused kernel.

    Example:
        >>> import neurarust as nr
        >>> nr.softmax(nr.tensor([0.0, 0.0]), dim=0)
        tensor([0.5000, 0.5000])
    """
    return _softmax(input, dim, dtype_arg(dtype), log=False)


def log_softmax(input, dim=None, dtype=None):
    """``log(softmax(x))`` along ``dim``, computed stably.

    Example:
        >>> import neurarust as nr
        >>> nr.log_softmax(nr.tensor([0.0, 0.0]), dim=0)
        tensor([-0.6931, -0.6931])
    """
    return _softmax(input, dim, dtype_arg(dtype), log=True)
