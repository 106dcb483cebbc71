"""Selection and bounding: where, clamp (clip, clamp_min, clamp_max), lerp, nan_to_num."""
from __future__ import annotations

import numpy as np

from .._core.tensor_base import TensorBase
from ..autograd.function import Function
from ..dtypes import FLOATING, bool_, result_type
from ..errors import DTypeError
from ._elementwise_common import _compute_dtype, _maybe_out, _operand, _scalars_only, _shape_of, sum_to
from ._util import backend, broadcast_shapes, common_device, wrap
from .comparison import isfinite


class Where(Function):
    @staticmethod
    def forward(ctx, cond, a, b):
        dtype = result_type(a, b)
        dev = common_device("where", cond, a, b)
        bk = backend(cond)
        cdt = _compute_dtype(dtype)
        if cond._dtype is not bool_:
            raise DTypeError(f"where(): expected condition to be a bool tensor, got {cond._dtype}")
        out = bk.where(cond._data, _operand(a, cdt, bk), _operand(b, cdt, bk))
        if cdt is not dtype:
            out = bk.cast(out, dtype.numpy)
        ctx.save_for_backward(cond)
        ctx.shapes = (_shape_of(a), _shape_of(b))
        return wrap(out, dev, dtype)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        sa, sb = ctx.shapes
        _, na, nb = ctx.needs_input_grad
        zero = g * 0
        return (None,
                sum_to(Where.apply(cond, g, zero), sa) if na else None,
                sum_to(Where.apply(cond, zero, g), sb) if nb else None)


def where(condition, input=None, other=None, *, out=None):
    """``input`` where ``condition`` else ``other`` (broadcast); one argument: ``nonzero(as_tuple=True)``.

    Example:
        >>> import neurarust as nr
        >>> x = nr.tensor([-1.0, 2.0]); nr.where(x > 0, x, 0.0)
        tensor([0., 2.])
    """
    if input is None and other is None:
        from .indexing import nonzero

        return nonzero(condition, as_tuple=True)
    broadcast_shapes("where", _shape_of(condition), _shape_of(input), _shape_of(other))
    return _maybe_out(Where.apply(condition, input, other), out)


def where_method(input, condition, other):
    """``Tensor.where(condition, other)``: ``self`` where ``condition`` else ``other`` (as in torch).

    Example:
        >>> import neurarust as nr
        >>> x = nr.tensor([-1.0, 2.0]); x.where(x > 0, 0.0)
        tensor([0., 2.])
    """
    return where(condition, input, other)


class Clamp(Function):
    @staticmethod
    def forward(ctx, x, lo, hi):
        dtype = result_type(*(v for v in (x, lo, hi) if v is not None))
        if isinstance(lo, TensorBase) or isinstance(hi, TensorBase):
            pass
        elif x._dtype.category >= FLOATING or not any(isinstance(v, float) for v in (lo, hi)):
            dtype = x._dtype
        dev = common_device("clamp", x, lo, hi)
        b = backend(x)
        cdt = _compute_dtype(dtype)
        lo_a = None if lo is None else _operand(lo, cdt, b)
        hi_a = None if hi is None else _operand(hi, cdt, b)
        out = b.clamp(_operand(x, cdt, b), lo_a, hi_a)
        if cdt is not dtype:
            out = b.cast(out, dtype.numpy)
        ctx.save_for_backward(x, lo if isinstance(lo, TensorBase) else None,
                              hi if isinstance(hi, TensorBase) else None)
        ctx.scalars = _scalars_only(lo, hi)
        return wrap(out, dev, dtype)

    @staticmethod
    def backward(ctx, g):
        x, lo_t, hi_t = ctx.saved_tensors
        lo = lo_t if lo_t is not None else ctx.scalars[0]
        hi = hi_t if hi_t is not None else ctx.scalars[1]
        inside = None
        if lo is not None:
            inside = x >= lo
        if hi is not None:
            inside = (x <= hi) if inside is None else inside & (x <= hi)
        nx, nlo, nhi = ctx.needs_input_grad
        gx = g * inside if nx else None
        glo = ghi = None
        if nlo:
            below = x < lo
            if hi is not None:
                below = below & (lo <= hi)
            glo = sum_to(g * below, lo.shape)
        if nhi:
            ghi = sum_to(g * (x > hi), hi.shape)
        return gx, glo, ghi


def clamp(input, min=None, max=None, *, out=None):  # noqa: A002 - torch's names
    """Limit values to ``[min, max]`` (scalars or tensors).

    Example:
        >>> import neurarust as nr
        >>> nr.clamp(nr.tensor([-2.0, 0.5, 3.0]), -1, 1)
        tensor([-1.0000,  0.5000,  1.0000])
    """
    if min is None and max is None:
        raise ValueError("clamp(): at least one of 'min' or 'max' must not be None")
    return _maybe_out(Clamp.apply(input, min, max), out)


clip = clamp


def clamp_min(input, min):  # noqa: A002
    return clamp(input, min=min)


def clamp_max(input, max):  # noqa: A002
    return clamp(input, max=max)


class Lerp(Function):
    @staticmethod
    def forward(ctx, start, end, weight):
        dtype = result_type(start, end)
        if dtype.category != FLOATING:
            raise DTypeError(f"lerp(): expected floating point tensors, got {dtype}")
        dev = common_device("lerp", start, end, weight)
        b = backend(start)
        cdt = _compute_dtype(dtype)
        out = b.lerp(_operand(start, cdt, b), _operand(end, cdt, b), _operand(weight, cdt, b))
        if cdt is not dtype:
            out = b.cast(out, dtype.numpy)
        ctx.save_for_backward(start, end, weight if isinstance(weight, TensorBase) else None)
        ctx.weight = _scalars_only(weight)[0]
        return wrap(out, dev, dtype)

    @staticmethod
    def backward(ctx, g):
        start, end, w_t = ctx.saved_tensors
        w = w_t if w_t is not None else ctx.weight
        ns, ne_, nw = ctx.needs_input_grad
        return (sum_to(g * (1 - w), start.shape) if ns else None,
                sum_to(g * w, end.shape) if ne_ else None,
                sum_to(g * (end - start), w.shape) if nw else None)


def lerp(input, end, weight, *, out=None):
    """``input + weight * (end - input)``.

    Example:
        >>> import neurarust as nr
        >>> nr.lerp(nr.tensor([0.0]), nr.tensor([10.0]), 0.3)
        tensor([3.])
    """
    return _maybe_out(Lerp.apply(input, end, weight), out)


class NanToNum(Function):
    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        b = backend(x)
        ctx.save_for_backward(x)
        if x._dtype.category != FLOATING:
            return x.clone()
        info = np.finfo(x._dtype.numpy)
        posinf = float(info.max) if posinf is None else posinf
        neginf = float(info.min) if neginf is None else neginf
        cdt = _compute_dtype(x._dtype)
        data = x._data if cdt is x._dtype else b.cast(x._data, cdt.numpy)
        out = b.nan_to_num(data, float(nan), float(posinf), float(neginf))
        if cdt is not x._dtype:
            out = b.cast(out, x._dtype.numpy)
        return wrap(out, x._device, x._dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * isfinite(x), None, None, None


def nan_to_num(input, nan: float = 0.0, posinf=None, neginf=None, *, out=None):
    """Replace NaN, +inf and -inf with finite numbers.

    Example:
        >>> import neurarust as nr
        >>> nr.nan_to_num(nr.tensor([float('nan'), 1.0]))
        tensor([0., 1.])
    """
    return _maybe_out(NanToNum.apply(input, nan, posinf, neginf), out)
