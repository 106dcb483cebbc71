"""Extrema: max, min (values and indices, or elementwise with a tensor), amax, amin, argmax, argmin."""
from __future__ import annotations

from collections import namedtuple

from ..autograd.function import Function
from ..dtypes import int64
from ..errors import ShapeError
from ._reduction_common import _finish, _grad_expand, _to_compute
from ._util import backend, normalize_dims, wrap, wrap_dim

values_indices = namedtuple("return_types", ["values", "indices"])


class AMaxMin(Function):
    @staticmethod
    def forward(ctx, x, op, dims, keepdim):
        shape = tuple(x.shape)
        if x.numel() == 0 and (not dims or any(shape[d] == 0 for d in dims)):
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
