"""Elementwise ops: forward, backward and the public functions, in one place.

The CPU kernels are in ``neurarust/_core/elementwise.pyx`` (op names match).
Every binary op broadcasts and follows torch's type promotion; every
gradient is summed back to its input's shape (:func:`sum_to`).

Example:
    >>> import neurarust as nr
    >>> x = nr.tensor([[1.0], [2.0]], requires_grad=True)
    >>> (x * nr.tensor([1.0, 2.0, 3.0])).sum().backward(); x.grad
    tensor([[6.],
            [6.]])
"""
from __future__ import annotations

import math

import numpy as np

from .._core.tensor_base import TensorBase
from ..autograd.function import Function, save_before_overwrite
from ..autograd.grad_mode import GradMode
from ..dtypes import FLOATING, bool_, float16, float32, get_default_dtype, result_type
from ..dtypes import int64 as _INT64
from ..errors import AutogradError, DTypeError, IntegerDivisionByZeroError, ShapeError
from ._util import backend, broadcast_shapes, common_device, wrap

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


# ------------------------------------------------------------------ helpers
def sum_to(g, shape):
    """Sum a broadcast gradient back to ``shape``."""
    shape = tuple(shape)
    if g._data.shape == shape:
        return g
    lead = g.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    out = g.sum(dims, keepdim=True) if dims else g
    if lead:
        out = out.reshape(shape)
    return out


def _compute_dtype(dtype):
    # float16 math runs in float32 (the kernels have no half arithmetic) and is rounded back.
    return float32 if dtype is float16 else dtype


def _operand(x, dtype, b):
    """Backend array of ``x`` (tensor or Python scalar) in ``dtype``."""
    if isinstance(x, TensorBase):
        data = x._data
        return data if x._dtype is dtype else b.cast(data, dtype.numpy)
    return b.scalar_array(x, dtype.numpy)


def _binary_data(op, a, b, dtype):
    """Run binary kernel ``op`` with both operands converted to ``dtype``; returns (array, device)."""
    dev = common_device(op, a, b)
    bk = backend(a if isinstance(a, TensorBase) and a._device is dev else b)
    cdt = _compute_dtype(dtype)
    try:
        out = bk.binary(op, _operand(a, cdt, bk), _operand(b, cdt, bk))
    except ZeroDivisionError as exc:
        raise IntegerDivisionByZeroError(f"{op}: {exc}") from None
    except ValueError as exc:
        if "broadcast" in str(exc) or "shape" in str(exc):
            broadcast_shapes(op, getattr(a, "shape", ()), getattr(b, "shape", ()))
        raise
    if cdt is not dtype and out.dtype != np.bool_:
        out = bk.cast(out, dtype.numpy)
    return out, dev


def _shape_of(x):
    return x._data.shape if isinstance(x, TensorBase) else ()


def _scalars_only(*args):
    """Python-number operands for ``ctx``; tensors go through ``save_for_backward``.

    A ctx attribute holding a tensor input would make a reference cycle once
    an in-place op gives that input this node as its ``grad_fn``.
    """
    return tuple(None if isinstance(v, TensorBase) else v for v in args)


# ------------------------------------------------------------------- binary
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


def _check_tensor_arg(op, x):
    if not isinstance(x, TensorBase):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")


def _check_number(op, x):
    if not isinstance(x, (TensorBase, bool, int, float, np.number, np.bool_)):
        raise TypeError(f"{op}(): expected a Tensor or a number, got {type(x).__name__}")


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


def _no_grad_binary(op, a, b):
    dtype = result_type(a, b)
    data, dev = _binary_data(op, a, b, dtype)
    return wrap(data, dev)


def _comparison(op):
    def compare(input, other, *, out=None):
        _check_number(op, other)
        data, dev = _binary_data(op, input, other, result_type(input, other))
        return _maybe_out(wrap(data, dev, bool_), out)

    compare.__name__ = op
    compare.__doc__ = f"""Elementwise ``{op}`` comparison; returns a bool tensor.

    Example:
        >>> import neurarust as nr
        >>> nr.{op}(nr.tensor([1, 2, 3]), 2)
        {_COMPARISON_EXAMPLE_RESULTS[op]}
    """
    return compare


# What torch prints for ``torch.<op>(torch.tensor([1, 2, 3]), 2)``.
_COMPARISON_EXAMPLE_RESULTS = {
    "eq": "tensor([False,  True, False])", "ne": "tensor([ True, False,  True])",
    "lt": "tensor([ True, False, False])", "le": "tensor([ True,  True, False])",
    "gt": "tensor([False, False,  True])", "ge": "tensor([False,  True,  True])",
}


eq, ne, lt, le, gt, ge = (_comparison(op) for op in ("eq", "ne", "lt", "le", "gt", "ge"))
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def _logical(op):
    def logical(input, other, *, out=None):
        dtype = result_type(input, other)
        data, dev = _binary_data(op, input, other, dtype)
        return _maybe_out(wrap(data, dev, bool_), out)

    logical.__name__ = op
    logical.__doc__ = f"""Elementwise ``{op}`` of the truth values; returns a bool tensor.

    Example:
        >>> import neurarust as nr
        >>> nr.{op}(nr.tensor([True, False]), nr.tensor([True, True])).dtype
        neurarust.bool
    """
    return logical


logical_and, logical_or, logical_xor = (_logical(op) for op in ("logical_and", "logical_or", "logical_xor"))


def _bitwise(op):
    def bitwise(input, other, *, out=None):
        dtype = result_type(input, other)
        if dtype.category == FLOATING:
            raise DTypeError(f"{op}(): only integer and bool tensors are supported, got {dtype}")
        data, dev = _binary_data(op, input, other, dtype)
        return _maybe_out(wrap(data, dev), out)

    bitwise.__name__ = op
    bitwise.__doc__ = f"""Elementwise ``{op}`` of integer or bool tensors.

    Example:
        >>> import neurarust as nr
        >>> nr.{op}(nr.tensor([12]), nr.tensor([10])).dtype
        neurarust.int64
    """
    return bitwise


bitwise_and, bitwise_or, bitwise_xor = (_bitwise(op) for op in ("bitwise_and", "bitwise_or", "bitwise_xor"))


# -------------------------------------------------------------------- unary
class _Unary(Function):
    """Base of the unary ops generated from ``_UNARY_SPECS``."""

    op = ""
    saves = ""  # "x", "y" or "xy": what backward needs
    float_only = True
    params = (0.0, 0.0)

    @classmethod
    def run(cls, x, p0=0.0, p1=0.0):
        dtype = x._dtype
        if cls.float_only and dtype.category != FLOATING:
            dtype = get_default_dtype()
        cdt = _compute_dtype(dtype)
        b = backend(x)
        data = x._data if x._dtype is cdt else b.cast(x._data, cdt.numpy)
        out = b.unary(cls.op, data, p0, p1)
        if cdt is not dtype:
            out = b.cast(out, dtype.numpy)
        return wrap(out, x._device, dtype)


def _make_unary(name, grad, saves="x", float_only=True):
    def forward(ctx, x, p0=0.0, p1=0.0):
        out = cls.run(x, p0, p1)
        if saves == "x":
            ctx.save_for_backward(x)
        elif saves == "y":
            ctx.save_for_backward(out)
        elif saves == "xy":
            ctx.save_for_backward(x, out)
        ctx.params = (p0, p1)
        return out

    def backward(ctx, g):
        saved = ctx.saved_tensors
        if saves == "x":
            x, y = saved[0], None
        elif saves == "y":
            x, y = None, saved[0]
        elif saves == "xy":
            x, y = saved
        else:
            x = y = None
        p0, p1 = ctx.params
        return grad(x, y, g, p0, p1), None, None

    cls = type(name.title().replace("_", ""), (_Unary,), {
        "op": name, "saves": saves, "float_only": float_only,
        "forward": staticmethod(forward), "backward": staticmethod(backward),
        "__module__": __name__,
    })
    return cls


def _zeros_grad(x, y, g, p0, p1):
    return g * 0


_UNARY_SPECS = {
    # name: (gradient(x, y, g, p0, p1), what to save, float-only)
    "neg": (lambda x, y, g, p0, p1: -g, "", False),
    "abs": (lambda x, y, g, p0, p1: g * sign(x), "x", False),
    "sign": (_zeros_grad, "", False),
    "square": (lambda x, y, g, p0, p1: g * 2 * x, "x", False),
    "reciprocal": (lambda x, y, g, p0, p1: -g * y * y, "y", True),
    "exp": (lambda x, y, g, p0, p1: g * y, "y", True),
    "expm1": (lambda x, y, g, p0, p1: g * (y + 1), "y", True),
    "log": (lambda x, y, g, p0, p1: g / x, "x", True),
    "log1p": (lambda x, y, g, p0, p1: g / (x + 1), "x", True),
    "log2": (lambda x, y, g, p0, p1: g / (x * _LN2), "x", True),
    "log10": (lambda x, y, g, p0, p1: g / (x * _LN10), "x", True),
    "sqrt": (lambda x, y, g, p0, p1: g / (2 * y), "y", True),
    "rsqrt": (lambda x, y, g, p0, p1: -0.5 * g * y * y * y, "y", True),
    "sin": (lambda x, y, g, p0, p1: g * cos(x), "x", True),
    "cos": (lambda x, y, g, p0, p1: -g * sin(x), "x", True),
    "tan": (lambda x, y, g, p0, p1: g * (1 + y * y), "y", True),
    "tanh": (lambda x, y, g, p0, p1: g * (1 - y * y), "y", True),
    "sigmoid": (lambda x, y, g, p0, p1: g * y * (1 - y), "y", True),
    "relu": (lambda x, y, g, p0, p1: ThresholdBackward.apply(g, y), "y", False),
    "gelu": (lambda x, y, g, p0, p1: g * (0.5 * (1 + erf(x * (1 / math.sqrt(2.0))))
                                          + x * exp(-0.5 * x * x) * _INV_SQRT_2PI), "x", True),
    "gelu_tanh": (lambda x, y, g, p0, p1: g * _gelu_tanh_grad(x), "x", True),
    "silu": (lambda x, y, g, p0, p1: g * _silu_grad(x), "x", True),
    "softplus": (lambda x, y, g, p0, p1: g * where(x * p0 > p1, 1.0, sigmoid(x * p0)), "x", True),
    "leaky_relu": (lambda x, y, g, p0, p1: g * where(x > 0, 1.0, p0), "x", True),
    "elu": (lambda x, y, g, p0, p1: g * where(x > 0, 1.0, exp(x) * p0), "x", True),
    "erf": (lambda x, y, g, p0, p1: g * _TWO_OVER_SQRT_PI * exp(-x * x), "x", True),
    "floor": (_zeros_grad, "", False),
    "ceil": (_zeros_grad, "", False),
    "round": (_zeros_grad, "", False),
    "trunc": (_zeros_grad, "", False),
}


class ThresholdBackward(Function):
    """relu's gradient, ``g`` where relu's output ``y > 0`` else 0, in one kernel.

    As in torch, a masked inf/nan gradient gives 0 and a NaN output passes the
    gradient.  Being a Function itself, it is differentiable in ``g``
    (double backward through relu).
    """

    @staticmethod
    def forward(ctx, g, y):
        ctx.save_for_backward(y)
        dtype = g._dtype
        if y._dtype is dtype and dtype is not float16 and y._device is g._device:
            return wrap(backend(g).binary("threshold_backward", g._data, y._data), g._device, dtype)
        data, dev = _binary_data("threshold_backward", g, y, dtype)
        return wrap(data, dev, dtype)

    @staticmethod
    def backward(ctx, gg):
        (y,) = ctx.saved_tensors
        return ThresholdBackward.apply(gg, y), None


def _gelu_tanh_grad(x):
    inner = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
    t = tanh(inner)
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)


def _silu_grad(x):
    s = sigmoid(x)
    return s * (1 + x * (1 - s))


UNARY_FUNCTIONS = {name: _make_unary(name, *spec) for name, spec in _UNARY_SPECS.items()}


def _integer_identity(name, x):
    # floor/ceil/round/trunc of integers are the integers themselves (torch returns a copy).
    return x.clone() if name in ("floor", "ceil", "round", "trunc") and x._dtype.category != FLOATING else None


# torch implements these for numbers only: on bool tensors they raise.
_NOT_FOR_BOOL = ("abs", "floor", "ceil", "round", "trunc", "relu")


def _check_not_bool(name, x):
    if x._dtype is bool_ and name in _NOT_FOR_BOOL:
        raise DTypeError(f"{name}(): not implemented for 'Bool' tensors")


def _unary_api(name):
    fn_cls = UNARY_FUNCTIONS[name]

    def op(input, *, out=None):
        _check_tensor_arg(name, input)
        _check_not_bool(name, input)
        if name == "square" and input._dtype is bool_:
            # torch computes square as pow(x, 2): a bool base with an int exponent gives int64.
            input = input.to(_INT64)
        same = _integer_identity(name, input)
        if same is not None:
            return _maybe_out(same, out)
        if input._dtype is bool_ and name in ("neg",):
            raise DTypeError(
                "Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
                "to invert a mask, use the `~` or `logical_not()` operator instead."
            )
        return _maybe_out(fn_cls.apply(input), out)

    op.__name__ = name
    # gelu_tanh is internal (torch spells it gelu(approximate="tanh")), so it is not under nr.*.
    qualified_name = f"ops.elementwise.{name}" if name == "gelu_tanh" else name
    op.__doc__ = f"""Elementwise ``{name}``.

    Example:
        >>> import neurarust as nr
        >>> nr.{qualified_name}(nr.tensor([0.5])).shape
        neurarust.Size([1])
    """
    return op


# One public function per unary op (forward/backward: UNARY_FUNCTIONS[name]); the ops with
# parameters (gelu, softplus, leaky_relu, elu, round) have their own definitions below.
neg = _unary_api("neg")
abs = _unary_api("abs")
sign = _unary_api("sign")
square = _unary_api("square")
reciprocal = _unary_api("reciprocal")
exp = _unary_api("exp")
expm1 = _unary_api("expm1")
log = _unary_api("log")
log1p = _unary_api("log1p")
log2 = _unary_api("log2")
log10 = _unary_api("log10")
sqrt = _unary_api("sqrt")
rsqrt = _unary_api("rsqrt")
sin = _unary_api("sin")
cos = _unary_api("cos")
tan = _unary_api("tan")
tanh = _unary_api("tanh")
sigmoid = _unary_api("sigmoid")
relu = _unary_api("relu")
gelu_tanh = _unary_api("gelu_tanh")
silu = _unary_api("silu")
erf = _unary_api("erf")
floor = _unary_api("floor")
ceil = _unary_api("ceil")
trunc = _unary_api("trunc")
negative, absolute, fix = neg, abs, trunc  # torch's aliases


def _round_decimals(input, decimals):
    scale = 10.0 ** decimals
    return UNARY_FUNCTIONS["round"].apply(input * scale) / scale


def round(input, *, decimals: int = 0, out=None):  # noqa: A001 - torch's name
    """Round half to even, optionally to ``decimals`` places.

    Example:
        >>> import neurarust as nr
        >>> nr.round(nr.tensor([0.5, 1.5, 2.567]), decimals=0), nr.round(nr.tensor([2.567]), decimals=2)
        (tensor([0., 2., 3.]), tensor([2.5700]))
    """
    _check_tensor_arg("round", input)
    _check_not_bool("round", input)
    same = _integer_identity("round", input)
    if same is not None:
        return _maybe_out(same, out)
    if decimals:
        return _maybe_out(_round_decimals(input, decimals), out)
    return _maybe_out(UNARY_FUNCTIONS["round"].apply(input), out)


def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    """``log(1 + exp(beta * x)) / beta``, linear above ``threshold``.

    Example:
        >>> import neurarust as nr
        >>> nr.softplus(nr.tensor([0.0]))
        tensor([0.6931])
    """
    return UNARY_FUNCTIONS["softplus"].apply(input, float(beta), float(threshold))


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    """``x if x > 0 else negative_slope * x``.

    Example:
        >>> import neurarust as nr
        >>> nr.leaky_relu(nr.tensor([-1.0, 2.0]), 0.1)
        tensor([-0.1000,  2.0000])
    """
    out = UNARY_FUNCTIONS["leaky_relu"].apply(input, float(negative_slope))
    return _finish_inplace_flag(input, out, inplace)


def elu(input, alpha: float = 1.0, inplace: bool = False):
    """``x if x > 0 else alpha * (exp(x) - 1)``.

    Example:
        >>> import neurarust as nr
        >>> nr.elu(nr.tensor([0.0, 1.0]))
        tensor([0., 1.])
    """
    out = UNARY_FUNCTIONS["elu"].apply(input, float(alpha))
    return _finish_inplace_flag(input, out, inplace)


def gelu(input, approximate: str = "none"):
    """GELU, exact (erf) or ``approximate='tanh'``.

    Example:
        >>> import neurarust as nr
        >>> nr.gelu(nr.tensor([1.0])), nr.gelu(nr.tensor([1.0]), approximate="tanh")
        (tensor([0.8413]), tensor([0.8412]))
    """
    if approximate == "none":
        return UNARY_FUNCTIONS["gelu"].apply(input)
    if approximate == "tanh":
        return UNARY_FUNCTIONS["gelu_tanh"].apply(input)
    raise ValueError(f"gelu(): approximate must be 'none' or 'tanh', got {approximate!r}")


def _finish_inplace_flag(input, out, inplace):
    if inplace:
        return copy_inplace(input, out)
    return out


def _bool_unary(name):
    def op(input):
        _check_tensor_arg(name, input)
        b = backend(input)
        if name in ("isnan", "isinf") and input._dtype.category != FLOATING:
            return wrap(b.zeros(tuple(input.shape), np.bool_), input._device, bool_)
        if name == "isfinite" and input._dtype.category != FLOATING:
            return wrap(b.full(tuple(input.shape), True, np.bool_), input._device, bool_)
        data = input._data
        if input._dtype is float16:
            data = b.cast(data, np.float32)
        return wrap(b.unary(name, data), input._device, bool_)

    op.__name__ = name
    op.__doc__ = f"""Elementwise ``{name}``; returns a bool tensor.

    Example:
        >>> import neurarust as nr
        >>> nr.{name}(nr.tensor([1.0, float('nan'), float('inf')])).dtype
        neurarust.bool
    """
    return op


isnan, isinf, isfinite, logical_not = (_bool_unary(n) for n in ("isnan", "isinf", "isfinite", "logical_not"))


def bitwise_not(input):
    """Bitwise NOT of an integer tensor (logical NOT of a bool tensor).

    Example:
        >>> import neurarust as nr
        >>> nr.bitwise_not(nr.tensor([0, -1]))
        tensor([-1,  0])
    """
    if input._dtype.category == FLOATING:
        raise DTypeError(f"bitwise_not(): only integer and bool tensors are supported, got {input._dtype}")
    return wrap(backend(input).unary("bitwise_not", input._data), input._device, input._dtype)


# ------------------------------------------------------------------ ternary
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


# -------------------------------------------------------------- in-place
def can_cast(src, dst) -> bool:
    """torch's rule for in-place results: never to a lower category."""
    return src.category <= dst.category


def copy_inplace(self, result):
    """Write ``result`` into ``self`` and make ``self`` take ``result``'s place in the graph.

    The one mechanism behind every in-place op: run the out-of-place op, then
    copy the values in.  When ``self`` is a view of a tensor in the graph, the
    base gets a new history through a ``ScatterRegion`` node
    (``ops/views.py::rebase_view_history``), the way
    torch's ``CopySlices`` works.
    """
    if not isinstance(result, TensorBase):
        raise TypeError(f"in-place op produced {type(result).__name__}, expected a Tensor")
    if tuple(result.shape) != tuple(self.shape):
        raise ShapeError(
            f"output with shape {list(self.shape)} doesn't match the broadcast shape {list(result.shape)}"
        )
    if not can_cast(result._dtype, self._dtype):
        raise DTypeError(f"result type {result._dtype.name} can't be cast to the desired output type {self._dtype.name}")
    recording = GradMode.enabled and (self._requires_grad or result._requires_grad)
    if recording:
        _check_inplace_allowed(self)
        save_before_overwrite(result._grad_fn, self)
        if self._base is not None:
            from .views import rebase_view_history

            rebase_view_history(self, result)
            return self
    backend(self).copy_(self._data, result._data)
    self._version_counter.bump()
    if recording:
        if result._dtype is not self._dtype:
            result = result.to(self._dtype)
        self._grad_fn = result._grad_fn
        self._output_nr = result._output_nr
        self._requires_grad = True
    return self


def _check_inplace_allowed(self):
    if self._grad_fn is None and self._requires_grad:
        raise AutogradError(
            "a leaf Variable that requires grad is being used in an in-place operation."
        )
    base = self._base
    if base is not None and base._grad_fn is None and base._requires_grad:
        raise AutogradError(
            "a view of a leaf Variable that requires grad is being used in an in-place operation."
        )


def inplace_binary(op, self, other, **kwargs):
    """``self.op_(other)``: a direct kernel write when nothing needs a graph."""
    if not (GradMode.enabled and (self._requires_grad or getattr(other, "_requires_grad", False))):
        dtype = result_type(self, other)
        if (dtype is self._dtype and op in _DIRECT_INPLACE and not kwargs
                and dtype is not float16 and (not isinstance(other, TensorBase) or other._device is self._device)):
            if not isinstance(other, TensorBase) or len(other.shape) <= self.ndim and broadcast_shapes(op, self.shape, other.shape) == tuple(self.shape):
                b = backend(self)
                if op == "sub":
                    _check_sub_operands(self, other)
                b.binary(_DIRECT_INPLACE[op], self._data, _operand(other, dtype, b), out=self._data)
                self._version_counter.bump()
                return self
    return copy_inplace(self, _OUT_OF_PLACE[op](self, other, **kwargs))


_DIRECT_INPLACE = {"add": "add", "sub": "sub", "mul": "mul", "maximum": "maximum", "minimum": "minimum"}
_OUT_OF_PLACE = {"add": add, "sub": sub, "mul": mul, "div": div, "pow": pow, "remainder": remainder,
                 "fmod": fmod, "floor_divide": floor_divide, "maximum": maximum, "minimum": minimum,
                 "bitwise_and": bitwise_and, "bitwise_or": bitwise_or, "bitwise_xor": bitwise_xor,
                 "logical_and": logical_and, "logical_or": logical_or, "logical_xor": logical_xor,
                 "eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt, "ge": ge}


def _maybe_out(result, out):
    if out is None:
        return result
    if GradMode.enabled and (result._requires_grad or out._requires_grad):
        raise AutogradError("out= arguments don't support automatic differentiation, but one of the arguments requires grad.")
    if tuple(out.shape) != tuple(result.shape):
        from .views import _resize_out

        _resize_out(out, result)
        return out
    backend(out).copy_(out._data, result._data)
    out._version_counter.bump()
    return out


