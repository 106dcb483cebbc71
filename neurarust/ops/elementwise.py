"""Elementwise ops: every public function and ``Function`` of the families below, in one namespace.

The code lives in one module per family:

==================  ==========================================================================
``arithmetic``      add, sub, mul, div, floor_divide, remainder, fmod, pow, maximum, minimum
``unary``           neg, abs, sign, square, reciprocal, exp/log family, sqrt, trig, tanh, erf,
                    floor, ceil, round, trunc (and ``UNARY_FUNCTIONS``, the unary op table)
``activations``     relu, sigmoid, silu, gelu, softplus, leaky_relu, elu
``comparison``      eq, ne, lt, le, gt, ge, logical_*, bitwise_*, isnan, isinf, isfinite
``selection``       where, clamp (clip, clamp_min, clamp_max), lerp, nan_to_num
``inplace``         copy_inplace (behind every ``x.op_()``), inplace_binary
==================  ==========================================================================

and what they share (:func:`sum_to`, operand conversion, ``out=``) in
``_elementwise_common``.  The CPU kernels are in
``neurarust/_core/elementwise.pyx`` (op names match).  Every binary op
broadcasts and follows torch's type promotion; every gradient is summed back
to its input's shape (:func:`sum_to`).

Example:
    >>> import neurarust as nr
    >>> x = nr.tensor([[1.0], [2.0]], requires_grad=True)
    >>> (x * nr.tensor([1.0, 2.0, 3.0])).sum().backward(); x.grad
    tensor([[6.],
            [6.]])
"""
from __future__ import annotations

from ._elementwise_common import _maybe_out, sum_to
from .activations import ThresholdBackward, elu, gelu, gelu_tanh, leaky_relu, relu, sigmoid, silu, softplus
from .arithmetic import (Add, Div, Fmod, Maximum, Minimum, Mul, Pow, Remainder, RoundingDiv, Sub, add, div,
                         divide, floor_divide, fmod, maximum, minimum, mul, multiply, pow, remainder, sub,
                         subtract, true_divide)
from .comparison import (bitwise_and, bitwise_not, bitwise_or, bitwise_xor, eq, ge, greater, greater_equal,
                         gt, isfinite, isinf, isnan, le, less, less_equal, logical_and, logical_not,
                         logical_or, logical_xor, lt, ne, not_equal)
from .inplace import can_cast, copy_inplace, inplace_binary
from .selection import (Clamp, Lerp, NanToNum, Where, clamp, clamp_max, clamp_min, clip, lerp, nan_to_num,
                        where, where_method)
from .unary import (UNARY_FUNCTIONS, abs, absolute, ceil, cos, erf, exp, expm1, fix, floor, log, log1p,
                    log2, log10, neg, negative, reciprocal, round, rsqrt, sign, sin, sqrt, square, tan,
                    tanh, trunc)

# The order of the API reference page (autodoc follows ``__all__``).
__all__ = [
    # arithmetic
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide",
    "remainder", "fmod", "pow", "maximum", "minimum",
    "Add", "Sub", "Mul", "Div", "RoundingDiv", "Pow", "Remainder", "Fmod", "Maximum", "Minimum",
    # unary math
    "neg", "negative", "abs", "absolute", "sign", "square", "reciprocal", "exp", "expm1", "log",
    "log1p", "log2", "log10", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "erf", "floor", "ceil",
    "round", "trunc", "fix", "UNARY_FUNCTIONS",
    # activations
    "relu", "sigmoid", "silu", "gelu", "gelu_tanh", "softplus", "leaky_relu", "elu", "ThresholdBackward",
    # comparison, logical, bitwise
    "eq", "ne", "not_equal", "lt", "less", "le", "less_equal", "gt", "greater", "ge", "greater_equal",
    "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or",
    "bitwise_xor", "bitwise_not", "isnan", "isinf", "isfinite",
    # selection
    "where", "where_method", "clamp", "clip", "clamp_min", "clamp_max", "lerp", "nan_to_num",
    "Where", "Clamp", "Lerp", "NanToNum",
    # in-place and shared mechanics
    "copy_inplace", "inplace_binary", "can_cast", "sum_to", "_maybe_out",
]
