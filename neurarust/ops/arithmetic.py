"""Arithmetic: add, sub, mul, div (true, floor, trunc), pow, remainder, fmod, maximum, minimum.

Every op broadcasts and follows torch's type promotion; every gradient is
summed back to its input's shape (:func:`sum_to`).  CPU kernels:
``neurarust/_core/elementwise.pyx`` (op names match).
"""
from __future__ import annotations

import math

import numpy as np

from .._core.tensor_base import TensorBase
from ..autograd.function import Function
from ..dtypes import FLOATING, bool_, get_default_dtype, result_type
from ..errors import DTypeError
from ._elementwise_common import (_binary_data, _check_number, _check_tensor_arg, _maybe_out,
                                  _no_grad_binary, _scalars_only, _shape_of, sum_to)
from ._util import wrap
from .selection import where
from .unary import log, trunc


class Add(Function):
    @staticmethod
    def forward(ctx, a, b, alpha=1):
        dtype = result_type(a, b)
        ctx.shapes = (_shape_of(a), _shape_of(b))
        ctx.alpha = alpha
        if alpha != 1:
            b = b * alpha if isinstance(b, TensorBase) else b * alpha
        data, dev = _binary_data("add", a, b, dtype)
        return wrap(data, dev)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        na, nb = ctx.needs_input_grad[:2]
        # d(a + alpha * b)/db = alpha
        gb = sum_to(g if ctx.alpha == 1 else g * ctx.alpha, sb) if nb else None
        return (sum_to(g, sa) if na else None, gb, None)


def _check_sub_operands(a, b):
    """torch refuses subtraction with any bool operand (Python bools included)."""
    def is_bool(x):
        return x._dtype is bool_ if isinstance(x, TensorBase) else isinstance(x, (bool, np.bool_))

    if is_bool(a) and is_bool(b):
        raise DTypeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` "
            "or `logical_xor()` operator instead."
        )
    if is_bool(a) or is_bool(b):
        raise DTypeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying "
            "to invert a mask, use the `~` or `logical_not()` operator instead."
        )


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b, alpha=1):
        _check_sub_operands(a, b)
        dtype = result_type(a, b)
        ctx.shapes = (_shape_of(a), _shape_of(b))
        ctx.alpha = alpha
        if alpha != 1:
            b = b * alpha
        data, dev = _binary_data("sub", a, b, dtype)
        return wrap(data, dev)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        na, nb = ctx.needs_input_grad[:2]
        # d(a - alpha * b)/db = -alpha
        gb = sum_to(-g if ctx.alpha == 1 else g * -ctx.alpha, sb) if nb else None
        return (sum_to(g, sa) if na else None, gb, None)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        # Save an operand only when the other's gradient needs it (as torch does):
        # ``y.mul_(3)`` then needs no copy of ``y`` before it is overwritten.
        na, nb = ctx.needs_input_grad or (False, False)
        ctx.save_for_backward(a if nb and isinstance(a, TensorBase) else None,
                              b if na and isinstance(b, TensorBase) else None)
        ctx.scalars = _scalars_only(a, b)
        ctx.shapes = (_shape_of(a), _shape_of(b))
        data, dev = _binary_data("mul", a, b, result_type(a, b))
        return wrap(data, dev)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        sa, sb = ctx.scalars
        a = sa if a is None else a
        b = sb if b is None else b
        shape_a, shape_b = ctx.shapes
        na, nb = ctx.needs_input_grad
        return (sum_to(g * b, shape_a) if na else None, sum_to(g * a, shape_b) if nb else None)


def _true_div_dtype(a, b):
    dtype = result_type(a, b)
    return dtype if dtype.category == FLOATING else get_default_dtype()


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if isinstance(a, TensorBase) else None,
                              b if isinstance(b, TensorBase) else None)
        ctx.scalars = _scalars_only(a, b)
        data, dev = _binary_data("div", a, b, _true_div_dtype(a, b))
        return wrap(data, dev)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        sa, sb = ctx.scalars
        a = sa if a is None else a
        b = sb if b is None else b
        na, nb = ctx.needs_input_grad
        ga = sum_to(g / b, a.shape) if na else None
        gb = sum_to(-g * a / (b * b), b.shape) if nb else None
        return ga, gb


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        dtype = result_type(a, b)
        data, dev = _binary_data("pow", a, b, dtype)
        out = wrap(data, dev)
        ctx.save_for_backward(a if isinstance(a, TensorBase) else None,
                              b if isinstance(b, TensorBase) else None, out)
        ctx.scalars = _scalars_only(a, b)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        sa, sb = ctx.scalars
        a = sa if a is None else a
        b = sb if b is None else b
        na, nb = ctx.needs_input_grad
        ga = gb = None
        if na:
            if isinstance(b, TensorBase):
                grad_a = g * b * a ** (b - 1)
                ga = sum_to(where(b == 0, 0.0, grad_a), a.shape)
            else:
                ga = g * (b * a ** (b - 1)) if b != 0 else g * 0.0
        if nb:
            log_a = log(a) if isinstance(a, TensorBase) else math.log(a) if a > 0 else float("nan")
            grad_b = g * out * log_a
            if isinstance(a, TensorBase):
                grad_b = where((a == 0) & (b >= 0), 0.0, grad_b)
            elif a == 0:
                grad_b = where(b >= 0, 0.0, grad_b)
            gb = sum_to(grad_b, b.shape)
        return ga, gb


class Maximum(Function):
    op = "maximum"

    @staticmethod
    def forward(ctx, a, b):
        data, dev = _binary_data("maximum", a, b, result_type(a, b))
        ctx.save_for_backward(a, b)
        return wrap(data, dev)

    @staticmethod
    def backward(ctx, g):
        return _minmax_backward(ctx, g, greater=True)


class Minimum(Function):
    @staticmethod
    def forward(ctx, a, b):
        data, dev = _binary_data("minimum", a, b, result_type(a, b))
        ctx.save_for_backward(a, b)
        return wrap(data, dev)

    @staticmethod
    def backward(ctx, g):
        return _minmax_backward(ctx, g, greater=False)


def _minmax_backward(ctx, g, greater):
    a, b = ctx.saved_tensors
    # torch's rule: ties split the gradient evenly, the loser gets none, and where a NaN
    # makes every comparison false both inputs get the full gradient.
    shared = where(a == b, g * 0.5, g)
    a_loses = (a < b) if greater else (a > b)
    b_loses = (a > b) if greater else (a < b)
    na, nb = ctx.needs_input_grad
    return (sum_to(where(a_loses, 0.0, shared), a.shape) if na else None,
            sum_to(where(b_loses, 0.0, shared), b.shape) if nb else None)


def _modulus_function(name, op, rounding_mode):
    """remainder and fmod: d/da = 1, d/db = -(a / b rounded the way the op rounds)."""

    def forward(ctx, a, b):
        ctx.save_for_backward(a if isinstance(a, TensorBase) else None,
                              b if isinstance(b, TensorBase) else None)
        ctx.scalars = _scalars_only(a, b)
        data, dev = _binary_data(op, a, b, result_type(a, b))
        return wrap(data, dev)

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        a = ctx.scalars[0] if a is None else a
        b = ctx.scalars[1] if b is None else b
        na, nb = ctx.needs_input_grad
        return (sum_to(g, a.shape) if na else None,
                sum_to(-g * div(a, b, rounding_mode=rounding_mode), b.shape) if nb else None)

    return type(name, (Function,), {"forward": staticmethod(forward), "backward": staticmethod(backward),
                                    "__module__": __name__})


Remainder = _modulus_function("Remainder", "remainder", "floor")
Fmod = _modulus_function("Fmod", "fmod", "trunc")


def add(input, other, *, alpha=1, out=None):
    """``input + alpha * other``, broadcast.

    Example:
        >>> import neurarust as nr
        >>> nr.add(nr.tensor([1, 2]), nr.tensor([10, 20]), alpha=2)
        tensor([21, 42])
    """
    _check_number("add", other)
    return _maybe_out(Add.apply(input, other, alpha), out)


def sub(input, other, *, alpha=1, out=None):
    """``input - alpha * other``, broadcast.

    Example:
        >>> import neurarust as nr
        >>> nr.sub(nr.tensor([5.0]), 2)
        tensor([3.])
    """
    _check_number("sub", other)
    return _maybe_out(Sub.apply(input, other, alpha), out)


subtract = sub


def mul(input, other, *, out=None):
    """Elementwise product, broadcast.

    Example:
        >>> import neurarust as nr
        >>> nr.mul(nr.tensor([1, 2]), 1.5)
        tensor([1.5000, 3.0000])
    """
    _check_number("mul", other)
    return _maybe_out(Mul.apply(input, other), out)


multiply = mul


def div(input, other, *, rounding_mode=None, out=None):
    """Division: true (default), ``'trunc'`` or ``'floor'``.

    Example:
        >>> import neurarust as nr
        >>> nr.div(nr.tensor([-7, 7]), 2), nr.div(nr.tensor([-7, 7]), 2, rounding_mode="floor")
        (tensor([-3.5000,  3.5000]), tensor([-4,  3]))
    """
    _check_number("div", other)
    if rounding_mode is None:
        return _maybe_out(Div.apply(input, other), out)
    if rounding_mode in ("floor", "trunc"):
        return _maybe_out(RoundingDiv.apply(input, other, rounding_mode), out)
    raise ValueError(
        f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'"
    )


class RoundingDiv(Function):
    """``div`` with ``rounding_mode`` 'floor' or 'trunc': piecewise constant, so its gradient is zero
    (torch's output requires grad too, with zero gradients)."""

    @staticmethod
    def forward(ctx, a, b, mode):
        ctx.shapes = (_shape_of(a), _shape_of(b))
        if mode == "floor":
            return _no_grad_binary("floor_divide", a, b)
        if result_type(a, b).category == FLOATING:
            return trunc(Div.apply(a, b))
        rem = _no_grad_binary("fmod", a, b)
        return _no_grad_binary("floor_divide", _no_grad_binary("sub", a, rem), b)

    @staticmethod
    def backward(ctx, g):
        from .creation import zeros

        sa, sb = ctx.shapes
        na, nb = ctx.needs_input_grad[:2]
        return (zeros(sa, dtype=g.dtype, device=g.device) if na else None,
                zeros(sb, dtype=g.dtype, device=g.device) if nb else None, None)


divide = div
true_divide = div


def floor_divide(input, other, *, out=None):
    """``floor(input / other)`` (Python's ``//``).

    Example:
        >>> import neurarust as nr
        >>> nr.floor_divide(nr.tensor([-7, 7]), 2)
        tensor([-4,  3])
    """
    return div(input, other, rounding_mode="floor", out=out)


def remainder(input, other, *, out=None):
    """Python-style modulus (result has the divisor's sign).

    Example:
        >>> import neurarust as nr
        >>> nr.remainder(nr.tensor([-3, 3]), 2)
        tensor([1, 1])
    """
    return _maybe_out(Remainder.apply(input, other), out)


def fmod(input, other, *, out=None):
    """C-style modulus (result has the dividend's sign).

    Example:
        >>> import neurarust as nr
        >>> nr.fmod(nr.tensor([-3, 3]), 2)
        tensor([-1,  1])
    """
    return _maybe_out(Fmod.apply(input, other), out)


def pow(input, exponent, *, out=None):
    """``input ** exponent``; either may be a scalar.

    Example:
        >>> import neurarust as nr
        >>> nr.pow(nr.tensor([2, 3]), 2), nr.pow(2, nr.tensor([1.0, 3.0]))
        (tensor([4, 9]), tensor([2., 8.]))
    """
    return _maybe_out(Pow.apply(input, exponent), out)


def maximum(input, other, *, out=None):
    """Elementwise maximum (NaN propagates).

    Example:
        >>> import neurarust as nr
        >>> nr.maximum(nr.tensor([1, 5]), nr.tensor([3, 2]))
        tensor([3, 5])
    """
    _check_tensor_arg("maximum", other)
    return _maybe_out(Maximum.apply(input, other), out)


def minimum(input, other, *, out=None):
    """Elementwise minimum (NaN propagates).

    Example:
        >>> import neurarust as nr
        >>> nr.minimum(nr.tensor([1, 5]), nr.tensor([3, 2]))
        tensor([1, 2])
    """
    _check_tensor_arg("minimum", other)
    return _maybe_out(Minimum.apply(input, other), out)
