"""Comparisons (eq, lt, ...), logical and bitwise ops, and the isnan/isinf/isfinite tests.

Comparisons, logical ops and the tests return bool tensors; bitwise ops take
integer or bool tensors.
"""
from __future__ import annotations

import numpy as np

from ..dtypes import FLOATING, bool_, float16, result_type
from ..errors import DTypeError
from ._elementwise_common import _binary_data, _check_number, _check_tensor_arg, _maybe_out
from ._util import backend, wrap


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
