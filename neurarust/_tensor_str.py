"""``repr`` of tensors, formatted the way PyTorch prints them."""
from __future__ import annotations

import numpy as np

from .dtypes import bool_, get_default_dtype, int64

_EDGE_ITEMS = 3
_THRESHOLD = 1000
_LINE_WIDTH = 80


def _float_formatter(values: np.ndarray):
    """torch's ``_Formatter`` for floats: the format, and the width every entry is padded to.

    The width comes from the nonzero finite values only (torch's rule), so
    ``nan``/``inf``/``0`` are padded but never widen a column.
    """
    finite = values[np.isfinite(values)]
    nonzero = finite[finite != 0]
    if nonzero.size == 0:
        return (lambda x: f"{x:.0f}." if np.isfinite(x) else f"{x}"), 1
    magnitudes = np.abs(nonzero)
    ratio_or_size_is_big = magnitudes.max() / magnitudes.min() > 1000.0 or magnitudes.max() > 1e8
    if np.all(np.ceil(nonzero) == nonzero):
        if ratio_or_size_is_big:
            fmt = lambda x: f"{x:.4e}"  # noqa: E731
        else:
            fmt = lambda x: f"{x:.0f}." if np.isfinite(x) else f"{x}"  # noqa: E731
    elif ratio_or_size_is_big or magnitudes.min() < 1e-4:
        fmt = lambda x: f"{x:.4e}"  # noqa: E731
    else:
        fmt = lambda x: f"{x:.4f}"  # noqa: E731
    return fmt, max(len(fmt(x)) for x in nonzero)


def _summarized(arr: np.ndarray) -> np.ndarray:
    """torch's ``get_summarized_data``: the edge items of every dim, which the formatter sizes from."""
    if arr.ndim == 0:
        return arr
    parts = [arr[:_EDGE_ITEMS], arr[-_EDGE_ITEMS:]] if arr.shape[0] > 2 * _EDGE_ITEMS else [arr]
    if arr.ndim == 1:
        return np.concatenate(parts)
    return np.stack([_summarized(row) for part in parts for row in part])


def _element_formatter(arr: np.ndarray, summarize: bool):
    """(value -> text padded to a common width, that width), as torch's ``_Formatter``."""
    sample = (_summarized(arr) if summarize else arr).reshape(-1)
    if arr.dtype.kind == "f":
        fmt, width = _float_formatter(np.asarray(sample, np.float64))
        return (lambda x: fmt(x).rjust(width)), width
    texts = [str(bool(x)) if arr.dtype.kind == "b" else str(x) for x in sample.tolist()]
    width = max((len(x) for x in texts), default=1)
    if arr.dtype.kind == "b":
        return (lambda x: str(bool(x)).rjust(width)), width
    return (lambda x: str(x).rjust(width)), width


def _nested(arr: np.ndarray, indent: int, summarize: bool, to_str, width: int) -> str:
    """torch's ``_tensor_str_with_formatter``: rows of a 1-D block wrap at 80 columns counting the indent."""
    n = arr.shape[0]
    if summarize and n > 2 * _EDGE_ITEMS:
        rows = list(range(_EDGE_ITEMS)) + [None] + list(range(n - _EDGE_ITEMS, n))
    else:
        rows = list(range(n))
    if arr.ndim == 1:
        per_line = max(1, (_LINE_WIDTH - indent) // (width + 2))
        data = [" ..." if i is None else to_str(arr[i].item()) for i in rows]
        lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    slices = ["..." if i is None else _nested(arr[i], indent + 1, summarize, to_str, width) for i in rows]
    return "[" + ("," + "\n" * (arr.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _format_array(arr: np.ndarray, indent: int) -> str:
    if arr.dtype == np.float16:
        arr = arr.astype(np.float32)
    summarize = arr.size > _THRESHOLD
    to_str, width = _element_formatter(arr, summarize)
    if arr.ndim == 0:
        return to_str(arr.item())
    return _nested(arr, indent, summarize, to_str, width)


def _add_suffixes(text: str, suffixes, indent: int) -> str:
    """torch's ``_add_suffixes``: a suffix that would pass column 80 starts a new line."""
    parts = [text]
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > _LINE_WIDTH:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    return "".join(parts) + ")"


def tensor_repr(t) -> str:
    prefix = "tensor("
    arr = t.detach().cpu().numpy()
    suffixes = []
    if arr.size == 0 and arr.ndim != 1:
        body = "[]"
        suffixes.append(f"size={tuple(arr.shape)}")
    else:
        body = _format_array(arr, len(prefix))
    if t.device.type != "cpu":
        suffixes.append(f"device='{t.device}'")
    if t.dtype not in (get_default_dtype(), int64, bool_) or (arr.size == 0 and t.dtype is not get_default_dtype()):
        suffixes.append(f"dtype={t.dtype}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{type(t.grad_fn).__name__}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, len(prefix))
