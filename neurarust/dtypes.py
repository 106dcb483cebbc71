"""dtype objects and PyTorch's type-promotion rules.

Example:
    >>> import neurarust as nr
    >>> nr.promote_types(nr.int32, nr.float16)
    neurarust.float16
    >>> (nr.ones(2, dtype=nr.int32) * 2.5).dtype
    neurarust.float32
"""
from __future__ import annotations

from typing import Any, Dict, Tuple

import numpy as np

from .errors import DTypeError

__all__ = [
    "dtype", "bool_", "uint8", "int8", "int16", "int32", "int64", "float16", "float32",
    "float64", "promote_types", "get_default_dtype", "set_default_dtype", "as_dtype",
    "result_type",
]

# Categories order the kinds for promotion: a higher category always wins.
BOOL, INTEGRAL, FLOATING = 0, 1, 2


class dtype:
    """A tensor element type (``nr.float32``, ``nr.int64``, ...).

    Example:
        >>> import neurarust as nr
        >>> nr.float64.is_floating_point, nr.float64.itemsize
        (True, 8)
    """

    __slots__ = ("name", "numpy", "itemsize", "is_floating_point", "is_signed", "category")

    def __init__(self, name: str, numpy_dtype: Any, category: int):
        self.name = name
        self.numpy = np.dtype(numpy_dtype)
        self.itemsize = self.numpy.itemsize
        self.category = category
        self.is_floating_point = category == FLOATING
        self.is_signed = self.numpy.kind in "if"

    @property
    def is_complex(self) -> bool:
        return False

    def to_complex(self):  # pragma: no cover - complex dtypes are not supported
        raise DTypeError(f"{self}: complex dtypes are not supported")

    def __repr__(self) -> str:
        return f"neurarust.{self.name}"

    def __reduce__(self):
        return (as_dtype, (self.name,))


bool_ = dtype("bool", np.bool_, BOOL)
uint8 = dtype("uint8", np.uint8, INTEGRAL)
int8 = dtype("int8", np.int8, INTEGRAL)
int16 = dtype("int16", np.int16, INTEGRAL)
int32 = dtype("int32", np.int32, INTEGRAL)
int64 = dtype("int64", np.int64, INTEGRAL)
float16 = dtype("float16", np.float16, FLOATING)
float32 = dtype("float32", np.float32, FLOATING)
float64 = dtype("float64", np.float64, FLOATING)

ALL_DTYPES: Tuple[dtype, ...] = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
_BY_NAME: Dict[str, dtype] = {d.name: d for d in ALL_DTYPES}
_BY_NAME.update({"float": float32, "double": float64, "half": float16, "int": int32,
                 "long": int64, "short": int16, "bool_": bool_})
_BY_NUMPY: Dict[np.dtype, dtype] = {d.numpy: d for d in ALL_DTYPES}

_default_float = float32


def get_default_dtype() -> dtype:
    """The dtype of floating tensors created from Python floats (float32 unless changed).

    Example:
        >>> import neurarust as nr
        >>> nr.get_default_dtype()
        neurarust.float32
    """
    return _default_float


def set_default_dtype(d: dtype) -> None:
    """Set the default floating dtype (``float32`` or ``float64``; ``float16`` too, as in torch).

    Example:
        >>> import neurarust as nr
        >>> nr.set_default_dtype(nr.float64); nr.tensor(1.5).dtype
        neurarust.float64
        >>> nr.set_default_dtype(nr.float32)
    """
    global _default_float
    d = as_dtype(d)
    if not d.is_floating_point:
        raise DTypeError(f"set_default_dtype: only floating dtypes are allowed, got {d}")
    _default_float = d


def as_dtype(value: Any) -> dtype:
    """Convert a NeuraRust dtype, a numpy dtype, a Python type or a name to a :class:`dtype`.

    Example:
        >>> import neurarust as nr, numpy as np
        >>> nr.dtypes.as_dtype(np.float64), nr.dtypes.as_dtype(float), nr.dtypes.as_dtype("int32")
        (neurarust.float64, neurarust.float32, neurarust.int32)
    """
    if isinstance(value, dtype):
        return value
    if value is float:
        return _default_float
    if value is int:
        return int64
    if value is bool:
        return bool_
    if isinstance(value, str):
        key = value[len("neurarust."):] if value.startswith("neurarust.") else value
        key = key[len("torch."):] if key.startswith("torch.") else key
        if key in _BY_NAME:
            return _BY_NAME[key]
    else:
        try:
            found = _BY_NUMPY.get(np.dtype(value))
        except TypeError:
            found = None
        if found is not None:
            return found
    raise DTypeError(
        f"unsupported dtype {value!r}; expected one of "
        + ", ".join(d.name for d in ALL_DTYPES)
    )


def _promote_uncached(a: dtype, b: dtype) -> dtype:
    if a.category != b.category:
        return a if a.category > b.category else b
    if a.category == FLOATING:
        return a if a.itemsize >= b.itemsize else b
    if a.category == BOOL:
        return bool_
    # Integers follow numpy, which agrees with torch for these eight types.
    return _BY_NUMPY[np.promote_types(a.numpy, b.numpy)]


_PROMOTION: Dict[Tuple[dtype, dtype], dtype] = {
    (a, b): _promote_uncached(a, b) for a in ALL_DTYPES for b in ALL_DTYPES
}


def promote_types(a: dtype, b: dtype) -> dtype:
    """The smallest dtype both ``a`` and ``b`` convert to, by torch's rules.

    Example:
        >>> import neurarust as nr
        >>> nr.promote_types(nr.uint8, nr.int8)
        neurarust.int16
    """
    return _PROMOTION[(as_dtype(a), as_dtype(b))]


def scalar_category(value: Any) -> int:
    if isinstance(value, (bool, np.bool_)):
        return BOOL
    if isinstance(value, (int, np.integer)):
        return INTEGRAL
    if isinstance(value, (float, np.floating)):
        return FLOATING
    raise DTypeError(f"unsupported scalar of type {type(value).__name__}; expected bool, int or float")


def _default_for_category(category: int) -> dtype:
    return (bool_, int64, _default_float)[category]


def result_type(*operands: Any) -> dtype:
    """The dtype of an elementwise op on ``operands`` (tensors and Python scalars).

    Follows torch: dimensioned tensors decide, unless a 0-d tensor or a Python
    scalar belongs to a higher category (bool < integer < floating).

    Example:
        >>> import neurarust as nr
        >>> nr.result_type(nr.ones(2, dtype=nr.int32), nr.tensor(1.0, dtype=nr.float64))
        neurarust.float64
        >>> nr.result_type(nr.ones(2, dtype=nr.uint8), 1000)
        neurarust.uint8
    """
    dim_dtype = zero_dim_dtype = scalar_dtype = None
    for op in operands:
        op_dtype = getattr(op, "_dtype", None)
        if op_dtype is not None:
            if op._data.ndim:
                dim_dtype = op_dtype if dim_dtype is None else _PROMOTION[(dim_dtype, op_dtype)]
            else:
                zero_dim_dtype = op_dtype if zero_dim_dtype is None else _PROMOTION[(zero_dim_dtype, op_dtype)]
        else:
            cat_dtype = _default_for_category(scalar_category(op))
            scalar_dtype = cat_dtype if scalar_dtype is None else _PROMOTION[(scalar_dtype, cat_dtype)]
    result = dim_dtype
    for candidate in (zero_dim_dtype, scalar_dtype):
        if candidate is None:
            continue
        if result is None:
            result = candidate
        elif candidate.category > result.category:
            # A higher-category scalar picks the default dtype of its category,
            # a higher-category 0-d tensor keeps its own dtype.
            result = candidate
    if result is None:
        raise DTypeError("result_type() needs at least one tensor or scalar")
    return result
