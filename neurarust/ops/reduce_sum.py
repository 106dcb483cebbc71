"""Sum-like reductions: sum, mean, prod, all, any, count_nonzero."""
from __future__ import annotations

from ..autograd.function import Function
from ..dtypes import FLOATING, bool_
from ..errors import DTypeError
from ._reduction_common import _accumulating_input, _count, _finish, _grad_expand
from ._util import backend, dtype_arg, normalize_dims


class Sum(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        data, dtype, out_dtype = _accumulating_input(x, dtype)
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


class Prod(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        data, dtype, out_dtype = _accumulating_input(x, dtype)
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
