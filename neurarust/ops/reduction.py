"""Reductions: sum, mean, prod, max/min, var/std, norms, logsumexp, softmax, cumulative ops.

CPU kernels: ``neurarust/_core/reduce.pyx``.  ``dim`` may be an int, a tuple
or None (all dims); ``keepdim`` keeps reduced dims with size 1.

Example:
    >>> import neurarust as nr
    >>> x = nr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> x.mean(dim=0).sum().backward(); x.grad
    tensor([[0.5000, 0.5000],
            [0.5000, 0.5000]])
"""
from __future__ import annotations

import builtins
import math
from collections import namedtuple

from ..autograd.function import Function
from ..autograd.grad_mode import GradMode
from ..dtypes import FLOATING, bool_, float16, float32, get_default_dtype, int64
from ..errors import DTypeError, ShapeError
from ._util import backend, dtype_arg, normalize_dims, view_of, wrap, wrap_dim
from .views import Expand

__all__ = ["sum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "var", "std",
           "var_mean", "std_mean", "logsumexp", "norm", "all", "any", "cumsum", "cumprod",
           "softmax", "log_softmax", "count_nonzero"]

values_indices = namedtuple("return_types", ["values", "indices"])


def _kept_shape(shape, dims):
    """The shape with reduced dims set to 1 (``dims == ()`` means all)."""
    if not dims:
        return tuple(1 for _ in shape)
    return tuple(1 if i in dims else n for i, n in enumerate(shape))


def _reduced_shape(shape, dims, keepdim):
    if keepdim:
        return _kept_shape(shape, dims)
    if not dims:
        return ()
    return tuple(n for i, n in enumerate(shape) if i not in dims)


def _to_compute(x, dtype=None):
    """Input array in the dtype the kernel runs in (float16 runs in float32)."""
    target = dtype or x._dtype
    if target is float16:
        target = float32
    b = backend(x)
    return (x._data if target is x._dtype else b.cast(x._data, target.numpy)), target


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


class Sum(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        if dtype is None:
            dtype = int64 if x._dtype.category < FLOATING else x._dtype
        data, cdt = _to_compute(x, dtype if dtype.category == FLOATING else None)
        out_dtype = cdt if cdt.category == FLOATING else int64
        ctx.meta = (tuple(x.shape), dims, keepdim)
        result = backend(x).reduce("sum", data, dims, out_dtype.numpy)
        return _finish(x, result, dims, keepdim, dtype)

    @staticmethod
    def backward(ctx, g):
        return _grad_expand(g, *ctx.meta), None, None, None


def sum(input, dim=None, keepdim: bool = False, *, dtype=None):  # noqa: A001 - torch's name
    """Sum over ``dim`` (all dims by default). Integers and bools sum to int64.

    Example:
        >>> import neurarust as nr
        >>> nr.tensor([[1, 2], [3, 4]]).sum(1), nr.tensor([True, True]).sum()
        (tensor([3, 7]), tensor(2))
    """
    dims = normalize_dims(dim, input.ndim, "sum")
    if dim is not None and not isinstance(dim, int) and len(dim) == 0:
        dims = ()
    return Sum.apply(input, dims, keepdim, dtype_arg(dtype))


def mean(input, dim=None, keepdim: bool = False, *, dtype=None):
    """Mean over ``dim``; floating inputs only (as in torch).

    Example:
        >>> import neurarust as nr
        >>> nr.tensor([[1.0, 2.0], [3.0, 4.0]]).mean(dim=1)
        tensor([1.5000, 3.5000])
    """
    dtype = dtype_arg(dtype)
    target = dtype or input.dtype
    if target.category != FLOATING:
        raise DTypeError(
            f"mean(): could not infer output dtype. Input dtype must be either a floating point or "
            f"complex dtype. Got: {target.name.capitalize()}"
        )
    dims = normalize_dims(dim, input.ndim, "mean")
    return Mean.apply(input if dtype is None else input.to(dtype), dims, keepdim)


class Mean(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        n = _count(tuple(x.shape), dims)
        total = Sum.forward(ctx, x, dims, keepdim, None)
        ctx.meta = (tuple(x.shape), dims, keepdim, n)
        # An empty reduction is 0/0: NaN, as in torch.
        return total / n if n else total * float("nan")

    @staticmethod
    def backward(ctx, g):
        in_shape, dims, keepdim, n = ctx.meta
        scale = 1.0 / n if n else float("nan")
        return _grad_expand(g, in_shape, dims, keepdim) * scale, None, None


def _count(shape, dims):
    if not dims:
        return math.prod(shape)
    return math.prod(shape[d] for d in dims)


class Prod(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        if dtype is None:
            dtype = int64 if x._dtype.category < FLOATING else x._dtype
        data, cdt = _to_compute(x, dtype if dtype.category == FLOATING else None)
        out_dtype = cdt if cdt.category == FLOATING else int64
        result = backend(x).reduce("prod", data, dims, out_dtype.numpy)
        out = _finish(x, result, dims, keepdim, dtype)
        ctx.save_for_backward(x)
        ctx.meta = (tuple(x.shape), dims, keepdim)
        return out

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        in_shape, dims, keepdim = ctx.meta
        # prod / x fails at zeros: use the product of all *other* elements instead,
        # computed with exclusive cumulative products in both directions.
        if not dims:
            flat = x.reshape(-1)
            others = _prod_of_others(flat, 0).reshape(in_shape)
        elif len(dims) == 1:
            others = _prod_of_others(x, dims[0])
        else:
            keep = [d for d in range(x.ndim) if d not in dims]
            moved = x.permute(keep + list(dims)).reshape([x.shape[d] for d in keep] + [-1])
            o = _prod_of_others(moved, -1).reshape([x.shape[d] for d in keep] + [x.shape[d] for d in dims])
            inverse = [0] * x.ndim
            for i, d in enumerate(keep + list(dims)):
                inverse[d] = i
            others = o.permute(inverse)
        return _grad_expand(g, in_shape, dims, keepdim) * others, None, None, None


def _prod_of_others(x, dim):
    from .creation import ones
    from .indexing import cat

    n = x.shape[dim]
    if n == 0:
        return x
    one = ones([1 if i == (dim % x.ndim) else s for i, s in enumerate(x.shape)], dtype=x.dtype, device=x.device)
    before = cat([one, x.narrow(dim, 0, n - 1)], dim).cumprod(dim)
    rev = x.flip(dim)
    after = cat([one, rev.narrow(dim, 0, n - 1)], dim).cumprod(dim).flip(dim)
    return before * after


def prod(input, dim=None, keepdim: bool = False, *, dtype=None):
    """Product over ``dim`` (one dim, or all).

    Example:
        >>> import neurarust as nr
        >>> nr.tensor([[1, 2], [3, 4]]).prod(), nr.tensor([[1.0, 2.0], [3.0, 4.0]]).prod(0)
        (tensor(24), tensor([3., 8.]))
    """
    dims = normalize_dims(dim, input.ndim, "prod")
    return Prod.apply(input, dims, keepdim, dtype_arg(dtype))


class AMaxMin(Function):
    @staticmethod
    def forward(ctx, x, op, dims, keepdim):
        shape = tuple(x.shape)
        # builtins.any: this module's own ``any`` is the tensor reduction
        if x.numel() == 0 and (not dims or builtins.any(shape[d] == 0 for d in dims)):
            raise ShapeError(
                f"{'amax' if op == 'max' else 'amin'}(): Expected reduction dim to be specified for "
                f"input.numel() == 0. Specify the reduction dim with the 'dim' argument (input shape {list(shape)})"
            )
        data, cdt = _to_compute(x)
        result = backend(x).reduce(op, data, dims, cdt.numpy)
        out = _finish(x, result, dims, keepdim, x._dtype)
        ctx.save_for_backward(x, out)
        ctx.meta = (shape, dims, keepdim)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        in_shape, dims, keepdim = ctx.meta
        # The gradient is shared evenly between tied extrema (torch's amax rule).
        mask = (x == _grad_expand(out, in_shape, dims, keepdim)).to(g.dtype)
        count = mask.sum(dims if dims else None, keepdim=True)
        return _grad_expand(g, in_shape, dims, keepdim) * mask / count, None, None, None


def amax(input, dim=(), keepdim: bool = False):
    """Maximum over ``dim`` (all dims when empty); gradient split among ties.

    Example:
        >>> import neurarust as nr
        >>> nr.tensor([[1, 5], [7, 2]]).amax(1)
        tensor([5, 7])
    """
    return AMaxMin.apply(input, "max", normalize_dims(dim if dim != () else None, input.ndim, "amax"), keepdim)


def amin(input, dim=(), keepdim: bool = False):
    """Minimum over ``dim`` (all dims when empty).

    Example:
        >>> import neurarust as nr
        >>> nr.tensor([[1, 5], [7, 2]]).amin(0)
        tensor([1, 2])
    """
    return AMaxMin.apply(input, "min", normalize_dims(dim if dim != () else None, input.ndim, "amin"), keepdim)


class MaxMinDim(Function):
    @staticmethod
    def forward(ctx, x, op, dim, keepdim):
        if x.ndim and x.shape[dim] == 0:
            raise ShapeError(
                f"{op}(): Expected reduction dim {dim} to have non-zero size (input shape {list(x.shape)})"
            )
        data, cdt = _to_compute(x)
        values, indices = backend(x).arg_reduce(op, data, dim if x.ndim else None, True)
        v = _finish(x, values, (dim,), keepdim, x._dtype)
        i = _finish(x, indices, (dim,), keepdim, int64)
        ctx.mark_non_differentiable(i)
        ctx.save_for_backward(i)
        ctx.meta = (tuple(x.shape), dim, keepdim)
        return v, i

    @staticmethod
    def backward(ctx, g, _gi):
        (indices,) = ctx.saved_tensors
        in_shape, dim, keepdim = ctx.meta
        from .creation import zeros

        if not in_shape:
            return g, None, None, None
        if not keepdim:
            g = g.unsqueeze(dim)
            indices = indices.unsqueeze(dim)
        return zeros(in_shape, dtype=g.dtype, device=g.device).scatter(dim, indices, g), None, None, None


def _max_min(op, input, dim, keepdim, other):
    if other is not None:
        from .elementwise import maximum, minimum

        return (maximum if op == "max" else minimum)(input, other)
    if dim is None:
        if input.numel() == 0:
            raise ShapeError(
                f"{op}(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
                f"reduction dim with the 'dim' argument."
            )
        return AMaxMin.apply(input, op, (), False)
    d = wrap_dim(dim, input.ndim, op) if input.ndim else 0
    values, indices = MaxMinDim.apply(input, op, d, keepdim)
    return values_indices(values, indices)


def max(input, dim=None, keepdim: bool = False, *, other=None):  # noqa: A001
    """The maximum: of all elements, or ``(values, indices)`` along ``dim``, or elementwise with a tensor.

    Example:
        >>> import neurarust as nr
        >>> x = nr.tensor([[1, 5], [7, 2]])
        >>> x.max(), x.max(dim=1).indices
        (tensor(7), tensor([1, 0]))
    """
    if hasattr(dim, "_data"):
        dim, other = None, dim
    return _max_min("max", input, dim, keepdim, other)


def min(input, dim=None, keepdim: bool = False, *, other=None):  # noqa: A001
    """The minimum: of all elements, or ``(values, indices)`` along ``dim``.

    Example:
        >>> import neurarust as nr
        >>> nr.tensor([[1, 5], [7, 2]]).min(dim=0).values
        tensor([1, 2])
    """
    if hasattr(dim, "_data"):
        dim, other = None, dim
    return _max_min("min", input, dim, keepdim, other)


def _arg(op, input, dim, keepdim):
    if input.numel() == 0:
        raise ShapeError(f"arg{op}(): Expected reduction dim to be specified for input.numel() == 0.")
    data, _ = _to_compute(input)
    if dim is None:
        _, idx = backend(input).arg_reduce(op, data, None, False)
        out = wrap(idx, input._device, int64)
        return out.reshape([1] * input.ndim) if keepdim else out
    d = wrap_dim(dim, input.ndim, f"arg{op}") if input.ndim else 0
    _, idx = backend(input).arg_reduce(op, data, d if input.ndim else None, False)
    return _finish(input, idx, (d,), keepdim, int64)


def argmax(input, dim=None, keepdim: bool = False):
    """Index of the maximum (of the flattened tensor when ``dim`` is None).

    Example:
        >>> import neurarust as nr
        >>> nr.tensor([[1, 5], [7, 2]]).argmax(), nr.tensor([[1, 5], [7, 2]]).argmax(1)
        (tensor(2), tensor([1, 0]))
    """
    return _arg("max", input, dim, keepdim)


def argmin(input, dim=None, keepdim: bool = False):
    """Index of the minimum.

    Example:
        >>> import neurarust as nr
        >>> nr.tensor([3, 1, 2]).argmin()
        tensor(1)
    """
    return _arg("min", input, dim, keepdim)


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


def _logical_reduce(op, input, dim, keepdim):
    dims = normalize_dims(dim, input.ndim, op)
    data = input._data
    result = backend(input).reduce(op, data, dims, bool_.numpy)
    return _finish(input, result, dims, keepdim, bool_)


def all(input, dim=None, keepdim: bool = False):  # noqa: A001
    """Whether all elements are non-zero (over ``dim``).

    Example:
        >>> import neurarust as nr
        >>> nr.tensor([1, 0]).all(), nr.tensor([[1, 1], [0, 1]]).all(1)
        (tensor(False), tensor([ True, False]))
    """
    return _logical_reduce("all", input, dim, keepdim)


def any(input, dim=None, keepdim: bool = False):  # noqa: A001
    """Whether any element is non-zero (over ``dim``).

    Example:
        >>> import neurarust as nr
        >>> nr.tensor([0, 0, 3]).any()
        tensor(True)
    """
    return _logical_reduce("any", input, dim, keepdim)


def count_nonzero(input, dim=None):
    """Number of non-zero elements (over ``dim``).

    Example:
        >>> import neurarust as nr
        >>> nr.count_nonzero(nr.tensor([0, 1, 2]))
        tensor(2)
    """
    return (input != 0).sum(dim)


class CumSum(Function):
    @staticmethod
    def forward(ctx, x, dim, dtype):
        if dtype is None:
            dtype = int64 if x._dtype.category < FLOATING else x._dtype
        data, cdt = _to_compute(x, dtype if dtype.category == FLOATING else None)
        out_dtype = cdt if cdt.category == FLOATING else int64
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
        if dtype is None:
            dtype = int64 if x._dtype.category < FLOATING else x._dtype
        data, cdt = _to_compute(x, dtype if dtype.category == FLOATING else None)
        out_dtype = cdt if cdt.category == FLOATING else int64
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
