"""Activation functions: relu, sigmoid, silu, gelu, softplus, leaky_relu, elu.

They are unary ops like those of ``unary.py``: their rows below join
``UNARY_FUNCTIONS``, the same registry, so ``Tensor`` methods are bound
from them the same way.
"""
from __future__ import annotations

import math

from ..autograd.function import Function
from ..dtypes import float16
from ._elementwise_common import _binary_data
from ._util import backend, wrap
from .inplace import copy_inplace
from .selection import where
from .unary import UNARY_FUNCTIONS, _make_unary, _unary_api, erf, exp, tanh

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

_ACTIVATION_SPECS = {
    # name: (gradient(x, y, g, p0, p1), what to save, float-only), as in unary._UNARY_SPECS
    "sigmoid": (lambda x, y, g, p0, p1: g * y * (1 - y), "y", True),
    "relu": (lambda x, y, g, p0, p1: ThresholdBackward.apply(g, y), "y", False),
    "gelu": (lambda x, y, g, p0, p1: g * (0.5 * (1 + erf(x * (1 / math.sqrt(2.0))))
                                          + x * exp(-0.5 * x * x) * _INV_SQRT_2PI), "x", True),
    "gelu_tanh": (lambda x, y, g, p0, p1: g * _gelu_tanh_grad(x), "x", True),
    "silu": (lambda x, y, g, p0, p1: g * _silu_grad(x), "x", True),
    "softplus": (lambda x, y, g, p0, p1: g * where(x * p0 > p1, 1.0, sigmoid(x * p0)), "x", True),
    # Both branches from g: two Python scalars would make a default-dtype (float32) slope.
    "leaky_relu": (lambda x, y, g, p0, p1: where(x > 0, g, g * p0), "x", True),
    "elu": (lambda x, y, g, p0, p1: g * where(x > 0, 1.0, exp(x) * p0), "x", True),
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


UNARY_FUNCTIONS.update({name: _make_unary(name, *spec) for name, spec in _ACTIVATION_SPECS.items()})

# The public functions of the activations without parameters; the others are defined below.
sigmoid = _unary_api("sigmoid", __name__)
relu = _unary_api("relu", __name__)
gelu_tanh = _unary_api("gelu_tanh", __name__)
silu = _unary_api("silu", __name__)


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
