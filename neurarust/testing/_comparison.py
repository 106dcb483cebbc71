"""``assert_close``: compare tensors, arrays and scalars the way ``torch.testing.assert_close`` does.

Both sides are turned into NumPy arrays (NeuraRust tensors, NumPy arrays,
torch tensors, Python/NumPy scalars, and lists or tuples of those), then
shape, dtype and values are checked.  Floating values must satisfy
``|actual - expected| <= atol + rtol * |expected|``, with torch's default
tolerances per dtype when ``rtol``/``atol`` are omitted; integers and bools
must be equal.

Example:
    >>> import neurarust as nr
    >>> from neurarust.testing import assert_close
    >>> assert_close(nr.tensor([1.0, 2.0]) * 3, nr.tensor([3.0, 6.0]))
"""
from __future__ import annotations

import numbers
from typing import Any, Optional, Tuple

import numpy as np

__all__ = ["assert_close", "default_tolerances", "to_numpy"]

# torch.testing's defaults (torch/testing/_comparison.py, ``_DTYPE_PRECISIONS``).
_TOLERANCES = {
    "float16": (1e-3, 1e-5),
    "bfloat16": (1.6e-2, 1e-5),
    "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7),
}


def default_tolerances(*dtype_names: str) -> Tuple[float, float]:
    """``(rtol, atol)`` torch uses for these dtypes: the loosest of them; ``(0, 0)`` for ints/bool.

    Example:
        >>> from neurarust.testing import default_tolerances
        >>> default_tolerances("float32"), default_tolerances("int64")
        ((1.3e-06, 1e-05), (0.0, 0.0))
    """
    rtol = atol = 0.0
    for name in dtype_names:
        r, a = _TOLERANCES.get(name, (0.0, 0.0))
        rtol, atol = max(rtol, r), max(atol, a)
    return rtol, atol


class _Value:
    """One side of a comparison: the values as an array, the dtype name, and how it was given."""

    __slots__ = ("array", "dtype", "kind")

    def __init__(self, array: np.ndarray, dtype: str, kind: str):
        self.array, self.dtype, self.kind = array, dtype, kind


def _is_torch_tensor(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach") and hasattr(x, "dtype")


def to_numpy(x: Any) -> np.ndarray:
    """The values of a tensor (NeuraRust or torch), array or scalar as a NumPy array (a copy for tensors).

    Example:
        >>> import neurarust as nr
        >>> from neurarust.testing import to_numpy
        >>> to_numpy(nr.tensor([1, 2], dtype=nr.int32)).dtype
        dtype('int32')
    """
    return _convert(x, "value").array


def _convert(x: Any, side: str) -> _Value:
    from .._core.tensor_base import TensorBase

    if isinstance(x, TensorBase):
        return _Value(np.array(x.detach().cpu().numpy(), copy=True), x.dtype.name, "tensor")
    if _is_torch_tensor(x):
        name = str(x.dtype).replace("torch.", "")
        t = x.detach().cpu()
        if name == "bfloat16":  # NumPy has no bfloat16
            t = t.float()
        return _Value(t.numpy().copy(), name, "tensor")
    if isinstance(x, np.ndarray):
        return _Value(x, x.dtype.name, "array")
    if isinstance(x, np.generic):
        return _Value(np.asarray(x), x.dtype.name, "array")
    if isinstance(x, (bool, np.bool_)):
        return _Value(np.asarray(x, dtype=np.bool_), "bool", "scalar")
    if isinstance(x, numbers.Integral):
        return _Value(np.asarray(int(x), dtype=np.int64), "int64", "scalar")
    if isinstance(x, numbers.Real):
        return _Value(np.asarray(float(x), dtype=np.float64), "float64", "scalar")
    raise TypeError(
        f"assert_close: the {side} is a {type(x).__name__}; expected a tensor, a NumPy array, "
        f"a number, or a list/tuple of those"
    )


def _category(dtype_name: str) -> str:
    if dtype_name == "bool":
        return "bool"
    return "float" if dtype_name.startswith(("float", "bfloat")) else "int"


def _fail(msg: Optional[str], text: str) -> None:
    raise AssertionError(text if msg is None else f"{msg}\n\n{text}")


def _index_str(flat_index: int, shape: Tuple[int, ...]) -> str:
    return str(tuple(int(i) for i in np.unravel_index(flat_index, shape))) if shape else "()"


def _compare_values(actual: _Value, expected: _Value, rtol: float, atol: float, equal_nan: bool,
                    msg: Optional[str], where: str) -> None:
    a, e = actual.array, expected.array
    shape = a.shape
    exact = _category(actual.dtype) != "float" and _category(expected.dtype) != "float"
    if exact:
        # Integers compared as Python-sized values so uint8 - int8 cannot wrap around.
        a64, e64 = a.astype(np.int64) if a.dtype != np.uint64 else a, e.astype(np.int64) if e.dtype != np.uint64 else e
        bad = a64 != e64
        if not bad.any():
            return
        diff = np.abs(a64.astype(np.float64) - e64.astype(np.float64))
        rel = diff / np.maximum(np.abs(e64.astype(np.float64)), np.finfo(np.float64).tiny)
        rtol = atol = 0.0
    else:
        a64, e64 = a.astype(np.float64), e.astype(np.float64)
        both_nan = np.isnan(a64) & np.isnan(e64)
        same_inf = np.isinf(a64) & np.isinf(e64) & (a64 == e64)
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.abs(a64 - e64)
            close = diff <= atol + rtol * np.abs(e64)
        close |= same_inf
        if equal_nan:
            close |= both_nan
        bad = ~close
        if not bad.any():
            return
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = diff / np.abs(e64)
        # A NaN on one side only counts as an infinite difference.
        diff = np.where(np.isnan(diff) & ~both_nan, np.inf, diff)
        rel = np.where(np.isnan(rel) & ~both_nan, np.inf, rel)
        if not equal_nan:
            nan_pos = np.flatnonzero(both_nan)
            if nan_pos.size and not (bad & ~both_nan).any():
                _fail(msg, f"{where}NaN at index {_index_str(int(nan_pos[0]), shape)} on both sides, "
                           f"but equal_nan=False")
    n_bad, n = int(bad.sum()), bad.size
    diff_bad = np.where(bad, np.nan_to_num(diff, nan=0.0), -1.0)
    rel_bad = np.where(bad, np.nan_to_num(rel, nan=0.0), -1.0)
    i_abs, i_rel = int(np.argmax(diff_bad)), int(np.argmax(rel_bad))
    flat_a, flat_e = a.reshape(-1), e.reshape(-1)
    kind = "Scalars" if not shape and actual.kind == "scalar" else "Tensor-likes"
    _fail(msg, (
        f"{where}{kind} are not {'equal' if exact else 'close'}!\n\n"
        f"Mismatched elements: {n_bad} / {n} ({100.0 * n_bad / n:.1f}%)\n"
        f"Greatest absolute difference: {diff.reshape(-1)[i_abs]} at index {_index_str(i_abs, shape)} "
        f"(actual {flat_a[i_abs]}, expected {flat_e[i_abs]}; up to {atol} allowed)\n"
        f"Greatest relative difference: {rel.reshape(-1)[i_rel]} at index {_index_str(i_rel, shape)} "
        f"(actual {flat_a[i_rel]}, expected {flat_e[i_rel]}; up to {rtol} allowed)"
    ))


def _is_sequence(x: Any) -> bool:
    return isinstance(x, (list, tuple))


def _assert_close(actual, expected, rtol, atol, equal_nan, check_dtype, msg, where):
    if _is_sequence(actual) or _is_sequence(expected):
        if not (_is_sequence(actual) and _is_sequence(expected)):
            _fail(msg, f"{where}one side is a sequence and the other a {type(expected if _is_sequence(actual) else actual).__name__}")
        if len(actual) != len(expected):
            _fail(msg, f"{where}the sequences have different lengths: {len(actual)} != {len(expected)}")
        for i, (a, e) in enumerate(zip(actual, expected)):
            _assert_close(a, e, rtol, atol, equal_nan, check_dtype, msg, f"{where}item [{i}]: ")
        return
    a, e = _convert(actual, "actual value"), _convert(expected, "expected value")
    if a.array.shape != e.array.shape:
        _fail(msg, f"{where}The values for attribute 'shape' do not match: "
                   f"{tuple(a.array.shape)} != {tuple(e.array.shape)}.")
    if check_dtype:
        if "scalar" in (a.kind, e.kind):
            # A Python number has no width: only its kind (bool, int, float) must match.
            if _category(a.dtype) != _category(e.dtype):
                _fail(msg, f"{where}The kinds do not match: {a.dtype} is a {_category(a.dtype)} "
                           f"but {e.dtype} is a {_category(e.dtype)}.")
        elif a.dtype != e.dtype:
            _fail(msg, f"{where}The values for attribute 'dtype' do not match: {a.dtype} != {e.dtype}.")
    if rtol is None:
        widths = [v.dtype for v in (a, e) if v.kind != "scalar"] or [a.dtype, e.dtype]
        rtol, atol = default_tolerances(*widths)
    _compare_values(a, e, rtol, atol, equal_nan, msg, where)


def assert_close(actual: Any, expected: Any, rtol: Optional[float] = None, atol: Optional[float] = None,
                 *, equal_nan: bool = False, check_dtype: bool = True, msg: Optional[str] = None) -> None:
    """Assert that ``actual`` and ``expected`` have the same shape, dtype and (close) values.

    Accepts NeuraRust tensors, torch tensors, NumPy arrays, Python/NumPy scalars, and
    lists/tuples of those (compared item by item).  Default tolerances are torch's:
    float16 ``rtol=1e-3, atol=1e-5``; float32 ``rtol=1.3e-6, atol=1e-5``; float64
    ``rtol=1e-7, atol=1e-7``; integers and bools must be equal.  When the dtypes differ
    (``check_dtype=False``) the looser tolerance applies.  A Python number is compared
    to a tensor of the same kind (bool, integer or floating) whatever its width.
    Equal infinities match; NaNs match only with ``equal_nan=True``.

    The error message names the number of mismatched elements and the greatest
    absolute and relative differences with their indices.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.testing import assert_close
        >>> assert_close(nr.tensor([1.0, 2.0]), nr.tensor([1.0, 2.0 + 1e-6]))
        >>> assert_close(nr.tensor(1.0), 1.0)
        >>> assert_close(nr.tensor([1, 2]), nr.tensor([1.0, 2.0]))
        Traceback (most recent call last):
        ...
        AssertionError: The values for attribute 'dtype' do not match: int64 != float32.
    """
    if (rtol is None) != (atol is None):
        raise ValueError(
            f"Both 'rtol' and 'atol' must be either specified or omitted, but got no {'rtol' if rtol is None else 'atol'}."
        )
    _assert_close(actual, expected, rtol, atol, equal_nan, check_dtype, msg, "")
