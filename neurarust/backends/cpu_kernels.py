"""The CPU kernel table: the Cython ``_core`` kernels, under one set of names.

Interim: numpy implementations with the same contract stand in for the
kernels that have not landed yet.
"""
import numpy as np
from scipy import special

_BOOL = np.dtype(np.bool_)
_COMPARISONS = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
                "gt": np.greater, "ge": np.greater_equal, "logical_and": np.logical_and,
                "logical_or": np.logical_or, "logical_xor": np.logical_xor}
_BOOL_UNARY = {"isnan", "isinf", "isfinite", "logical_not"}


def binary_out_dtype(op, dtype):
    return _BOOL if op in _COMPARISONS else dtype


def unary_out_dtype(op, dtype):
    return _BOOL if op in _BOOL_UNARY else dtype


def _int_div_check(op, b):
    if b.dtype.kind in "iub" and not np.all(b):
        raise ZeroDivisionError("integer division by zero")


_BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide,
    "floor_divide": np.floor_divide, "remainder": np.remainder, "fmod": np.fmod,
    "pow": np.power, "maximum": np.maximum, "minimum": np.minimum,
    "bitwise_and": np.bitwise_and, "bitwise_or": np.bitwise_or, "bitwise_xor": np.bitwise_xor,
}


def binary(op, a, b, out):
    if op in ("floor_divide", "remainder", "fmod"):
        _int_div_check(op, b)
    if op == "pow" and a.dtype.kind in "iu" and np.any(b < 0):
        raise ValueError("pow: integers to negative integer powers are not allowed")
    fn = _COMPARISONS.get(op) or _BINARY[op]
    if a.dtype == _BOOL and op in ("add", "mul"):
        fn = np.logical_or if op == "add" else np.logical_and
    with np.errstate(all="ignore"):
        fn(a, b, out=out)


def _sigmoid(x, out):
    special.expit(x, out=out)


_UNARY = {
    "neg": lambda x, o, p, q: np.negative(x, out=o),
    "abs": lambda x, o, p, q: np.abs(x, out=o),
    "sign": lambda x, o, p, q: np.sign(x, out=o),
    "square": lambda x, o, p, q: np.multiply(x, x, out=o),
    "reciprocal": lambda x, o, p, q: np.reciprocal(x, out=o),
    "exp": lambda x, o, p, q: np.exp(x, out=o),
    "expm1": lambda x, o, p, q: np.expm1(x, out=o),
    "log": lambda x, o, p, q: np.log(x, out=o),
    "log1p": lambda x, o, p, q: np.log1p(x, out=o),
    "log2": lambda x, o, p, q: np.log2(x, out=o),
    "log10": lambda x, o, p, q: np.log10(x, out=o),
    "sqrt": lambda x, o, p, q: np.sqrt(x, out=o),
    "rsqrt": lambda x, o, p, q: np.divide(1, np.sqrt(x), out=o),
    "sin": lambda x, o, p, q: np.sin(x, out=o),
    "cos": lambda x, o, p, q: np.cos(x, out=o),
    "tan": lambda x, o, p, q: np.tan(x, out=o),
    "tanh": lambda x, o, p, q: np.tanh(x, out=o),
    "sigmoid": lambda x, o, p, q: _sigmoid(x, o),
    "relu": lambda x, o, p, q: np.copyto(o, np.where(x > 0, x, np.where(np.isnan(x), x, 0)) if x.dtype.kind == "f" else np.maximum(x, 0)),
    "gelu": lambda x, o, p, q: np.copyto(o, 0.5 * x * (1 + special.erf(x / np.sqrt(2)))),
    "gelu_tanh": lambda x, o, p, q: np.copyto(o, 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))),
    "silu": lambda x, o, p, q: np.copyto(o, x * special.expit(x)),
    "softplus": lambda x, o, p, q: np.copyto(o, np.where(x * p > q, x, np.logaddexp(0, x * p) / p)),
    "leaky_relu": lambda x, o, p, q: np.copyto(o, np.where(x > 0, x, x * p)),
    "elu": lambda x, o, p, q: np.copyto(o, np.where(x > 0, x, p * np.expm1(x))),
    "erf": lambda x, o, p, q: special.erf(x, out=o),
    "floor": lambda x, o, p, q: np.floor(x, out=o),
    "ceil": lambda x, o, p, q: np.ceil(x, out=o),
    "round": lambda x, o, p, q: np.round(x, out=o),
    "trunc": lambda x, o, p, q: np.trunc(x, out=o),
    "isnan": lambda x, o, p, q: np.isnan(x, out=o),
    "isinf": lambda x, o, p, q: np.isinf(x, out=o),
    "isfinite": lambda x, o, p, q: np.isfinite(x, out=o),
    "logical_not": lambda x, o, p, q: np.logical_not(x, out=o),
    "bitwise_not": lambda x, o, p, q: np.invert(x, out=o),
}


def unary(op, a, out, p0=0.0, p1=0.0):
    with np.errstate(all="ignore"):
        _UNARY[op](a, out, p0, p1)


def nan_to_num(a, out, nan, posinf, neginf):
    np.copyto(out, np.nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf))


def where(cond, a, b, out):
    np.copyto(out, np.where(cond, a, b))


def clamp(a, lo, hi, out):
    r = a
    with np.errstate(invalid="ignore"):
        if lo is not None:
            r = np.where(np.isnan(lo) if lo.dtype.kind == "f" else False, lo, np.fmax(r, lo) if False else np.maximum(r, lo))
        if hi is not None:
            r = np.minimum(r, hi)
    np.copyto(out, r)


def lerp(start, end, weight, out):
    np.copyto(out, start + weight * (end - start))


def copy(src, dst):
    with np.errstate(all="ignore"):
        np.copyto(dst, src, casting="unsafe")


_REDUCE = {"sum": np.sum, "prod": np.prod, "max": np.max, "min": np.min, "all": np.all, "any": np.any}


def reduce(op, a, axes, out):
    axis = axes if axes else None
    if op in ("max", "min") and a.size == 0:
        raise ValueError(f"{op}(): cannot reduce over an empty dimension of a tensor of shape {a.shape}")
    kwargs = {"dtype": out.dtype} if op in ("sum", "prod") else {}
    np.copyto(out, _REDUCE[op](a, axis=axis, **kwargs))


def arg_reduce(op, a, axis, values, indices):
    flat = axis == -1
    src = a.reshape(-1) if flat else a
    ax = 0 if flat else axis
    if src.shape[ax] == 0:
        raise ValueError(f"arg{op}(): cannot reduce over an empty dimension of shape {a.shape}")
    idx = (np.argmax if op == "max" else np.argmin)(src, axis=ax)
    if src.dtype.kind == "f":
        nan = np.isnan(src)
        has_nan = nan.any(axis=ax)
        idx = np.where(has_nan, np.argmax(nan, axis=ax), idx)
    np.copyto(indices, idx)
    if values is not None:
        np.copyto(values, np.take_along_axis(src, np.expand_dims(idx, ax), ax).squeeze(ax))


def var(a, axes, correction, out, mean_out=None):
    axis = axes if axes else None
    n = a.size // max(out.size, 1) if a.size else 0
    with np.errstate(all="ignore"):
        mean = np.mean(a, axis=axis, keepdims=True, dtype=np.float64)
        ss = np.sum((a - mean) ** 2, axis=axis, dtype=np.float64)
        np.copyto(out, ss / max(0, n - correction) if n - correction > 0 else ss / 0.0 if n else np.nan, casting="unsafe")


def cumulative(op, a, axis, out):
    fn = np.cumsum if op == "cumsum" else np.cumprod
    fn(a, axis=axis, dtype=out.dtype, out=out)


def softmax(a, axis, out, log):
    with np.errstate(all="ignore"):
        m = np.max(a, axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        shifted = a - m
        e = np.exp(shifted)
        s = np.sum(e, axis=axis, keepdims=True)
        np.copyto(out, shifted - np.log(s) if log else e / s)


def logsumexp(a, axes, out):
    axis = axes if axes else None
    with np.errstate(all="ignore"):
        m = np.max(a, axis=axis, keepdims=True) if a.size else np.zeros([1] * a.ndim, a.dtype)
        m = np.where(np.isfinite(m), m, 0)
        r = np.log(np.sum(np.exp(a - m), axis=axis)) + np.squeeze(m, axis=axis)
    np.copyto(out, r)


def matmul(a, b, out):
    np.matmul(a, b, out=out)


def _check_index(index, size, name):
    if index.size and (index.min() < 0 or index.max() >= size):
        bad = index[(index < 0) | (index >= size)].flat[0]
        raise IndexError(f"{name}: index {bad} is out of bounds for dimension with size {size}")


def index_select(a, axis, index, out):
    _check_index(index, a.shape[axis], "index_select")
    np.copyto(out, np.take(a, index, axis=axis))


def gather(a, axis, index, out):
    _check_index(index, a.shape[axis], "gather")
    np.copyto(out, np.take_along_axis(a[tuple(slice(0, n) if d != axis else slice(None) for d, n in enumerate(index.shape))], index, axis))


def scatter(out, axis, index, src, reduce):
    _check_index(index, out.shape[axis], "scatter")
    src = src[tuple(slice(0, n) for n in index.shape)]
    idx = list(np.indices(index.shape, sparse=True))
    idx[axis] = index
    idx = tuple(idx)
    if reduce == "none":
        out[idx] = src
    elif reduce == "add":
        np.add.at(out, idx, src)
    elif reduce == "multiply":
        np.multiply.at(out, idx, src)
    elif reduce == "amax":
        np.maximum.at(out, idx, src)
    elif reduce == "amin":
        np.minimum.at(out, idx, src)


def index_add(out, axis, index, src, alpha):
    _check_index(index, out.shape[axis], "index_add")
    moved = np.moveaxis(out, axis, 0)
    np.add.at(moved, index, np.moveaxis(src * alpha if alpha != 1 else src, axis, 0).astype(out.dtype))


def take(a, index, out):
    _check_index(index, a.size, "take")
    np.copyto(out, np.take(a.reshape(-1), index))


def masked_select(a, mask):
    return a[mask]


def masked_fill(a, mask, value):
    np.copyto(a, value, where=np.broadcast_to(mask, a.shape))


def nonzero(a):
    return np.argwhere(a).astype(np.int64)
