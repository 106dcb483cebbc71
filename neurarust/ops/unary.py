"""Unary math: neg, abs, sign, exp/log family, sqrt, trig, tanh, erf, rounding.

Each op is one row of ``_UNARY_SPECS`` (its gradient and what backward
saves); :func:`_make_unary` turns a row into a ``Function`` in
``UNARY_FUNCTIONS``, the registry that ``Tensor`` methods are bound from.
``activations.py`` registers its ops (relu, sigmoid, gelu, ...) in the same
table.
"""
from __future__ import annotations

import math

from ..autograd.function import Function
from ..dtypes import FLOATING, bool_, get_default_dtype
from ..dtypes import int64 as _INT64
from ..errors import DTypeError
from ._elementwise_common import _check_tensor_arg, _compute_dtype, _maybe_out
from ._util import backend, wrap

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


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
    "erf": (lambda x, y, g, p0, p1: g * _TWO_OVER_SQRT_PI * exp(-x * x), "x", True),
    "floor": (_zeros_grad, "", False),
    "ceil": (_zeros_grad, "", False),
    "round": (_zeros_grad, "", False),
    "trunc": (_zeros_grad, "", False),
}


# activations.py adds its ops (relu, sigmoid, gelu, ...) from its own _ACTIVATION_SPECS.
UNARY_FUNCTIONS = {name: _make_unary(name, *spec) for name, spec in _UNARY_SPECS.items()}


def _integer_identity(name, x):
    # floor/ceil/round/trunc of integers are the integers themselves (torch returns a copy).
    return x.clone() if name in ("floor", "ceil", "round", "trunc") and x._dtype.category != FLOATING else None


# torch implements these for numbers only: on bool tensors they raise.
_NOT_FOR_BOOL = ("abs", "floor", "ceil", "round", "trunc", "relu")


def _check_not_bool(name, x):
    if x._dtype is bool_ and name in _NOT_FOR_BOOL:
        raise DTypeError(f"{name}(): not implemented for 'Bool' tensors")


def _unary_api(name, module=__name__):
    """The public function of ``UNARY_FUNCTIONS[name]``, documented as part of ``module``."""
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
    op.__module__ = module
    # gelu_tanh is internal (torch spells it gelu(approximate="tanh")), so it is not under nr.*.
    qualified_name = f"ops.elementwise.{name}" if name == "gelu_tanh" else name
    op.__doc__ = f"""Elementwise ``{name}``.

    Example:
        >>> import neurarust as nr
        >>> nr.{qualified_name}(nr.tensor([0.5])).shape
        neurarust.Size([1])
    """
    return op


# One public function per unary op (forward/backward: UNARY_FUNCTIONS[name]); round, which
# takes a parameter, has its own definition below.
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
