"""``repr`` of tensors, formatted the way PyTorch prints them."""
from __future__ import annotations

import numpy as np

from .dtypes import bool_, get_default_dtype, int64

_EDGE_ITEMS = 3
_THRESHOLD = 1000


def _float_formatter(values: np.ndarray):
    finite = values[np.isfinite(values)]
    nonzero = np.abs(finite[finite != 0]) if finite.size else finite
    if finite.size and np.all(np.ceil(finite) == finite):
        big = nonzero.size and nonzero.max() >= 1e8
        return (lambda x: f"{x:.4e}") if big else (lambda x: f"{x:.0f}." if np.isfinite(x) else f"{x}")
    if nonzero.size and (nonzero.max() / nonzero.min() > 1000.0 or nonzero.max() > 1e8 or nonzero.min() < 1e-4):
        return lambda x: f"{x:.4e}"
    return lambda x: f"{x:.4f}"


def _format_array(arr: np.ndarray, prefix: str) -> str:
    if arr.dtype == np.float16:
        arr = arr.astype(np.float32)
    summarize = arr.size > _THRESHOLD
    if arr.dtype.kind == "f":
        sample = arr
        if summarize:
            sample = np.concatenate([arr.reshape(-1)[:_EDGE_ITEMS], arr.reshape(-1)[-_EDGE_ITEMS:]])
        fmt = _float_formatter(np.asarray(sample, np.float64).reshape(-1))
        formatter = {"float_kind": lambda x: fmt(x).replace("inf", "inf").replace("nan", "nan")}
    elif arr.dtype.kind == "b":
        formatter = {"bool": lambda x: "True" if x else "False"}
    else:
        formatter = {"int": str}
    return np.array2string(
        arr, separator=", ", prefix=prefix, formatter=formatter, max_line_width=80,
        threshold=_THRESHOLD if summarize else arr.size + 1, edgeitems=_EDGE_ITEMS,
    )


def tensor_repr(t) -> str:
    prefix = "tensor("
    arr = t.detach().cpu().numpy()
    suffixes = []
    if arr.size == 0 and arr.ndim != 1:
        body = "[]"
        suffixes.append(f"size={tuple(arr.shape)}")
    else:
        body = _format_array(arr, prefix)
    if t.device.type != "cpu":
        suffixes.append(f"device='{t.device}'")
    if t.dtype not in (get_default_dtype(), int64, bool_) or (arr.size == 0 and t.dtype is not get_default_dtype()):
        suffixes.append(f"dtype={t.dtype}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{type(t.grad_fn).__name__}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return prefix + ", ".join([body] + suffixes) + ")"
