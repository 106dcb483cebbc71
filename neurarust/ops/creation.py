"""Tensor creation: from data, filled, ranges; and dtype/device conversion.

Example:
    >>> import neurarust as nr
    >>> nr.arange(3), nr.full((2,), 7), nr.eye(2)
    (tensor([0, 1, 2]), tensor([7, 7]), tensor([[1., 0.],
            [0., 1.]]))
"""
from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from .._core.tensor_base import TensorBase
from ..autograd.function import Function
from ..device import CPU, as_device, backend_for
from ..dtypes import (_BY_NUMPY, BOOL, FLOATING, bool_, get_default_dtype, int64,
                      scalar_category)
from ..errors import DTypeError, ShapeError
from ._util import as_shape, dtype_arg, wrap

__all__ = ["tensor", "as_tensor", "from_numpy", "empty", "zeros", "ones", "full", "empty_like",
           "zeros_like", "ones_like", "full_like", "arange", "linspace", "logspace", "eye",
           "scalar_tensor", "is_tensor", "numel"]


def _finish(t, requires_grad: bool):
    if requires_grad:
        t.requires_grad_(True)
    return t


def _infer_numpy(data: Any, dtype) -> np.ndarray:
    """Convert Python or numpy data to a numpy array with torch's dtype inference."""
    if isinstance(data, np.ndarray) or isinstance(data, np.generic):
        arr = np.asarray(data)
        if dtype is None:
            if arr.dtype not in _BY_NUMPY:
                raise DTypeError(
                    f"tensor(): can't convert a numpy array of dtype {arr.dtype}; supported: "
                    f"bool, uint8, int8, int16, int32, int64, float16, float32, float64"
                )
            return arr
        return arr.astype(dtype.numpy)
    if isinstance(data, TensorBase):
        arr = data.detach().cpu().numpy()
        return arr if dtype is None else arr.astype(dtype.numpy)
    sequence_dtype = None
    if isinstance(data, (list, tuple)):
        sequence_dtype = _sequence_dtype(data) if dtype is None else None
        data = _unwrap_nested(data)
    try:
        arr = np.asarray(data)
    except (ValueError, TypeError) as exc:
        raise ShapeError(f"tensor(): could not build a tensor from the data ({exc})") from None
    if arr.dtype.kind not in "biuf":
        raise DTypeError(
            f"tensor(): data must be numbers, bools or nested sequences of them; got {type(data).__name__} "
            f"that numpy reads as {arr.dtype}"
        )
    if dtype is None:
        dtype = sequence_dtype or (
            bool_ if arr.dtype.kind == "b" else int64 if arr.dtype.kind in "iu" else get_default_dtype())
    if arr.dtype == np.uint64 and dtype.category != FLOATING:  # Python ints past int64's range
        raise DTypeError(f"tensor(): value {int(arr.max())} cannot be converted to type {dtype} without overflow")
    if arr.dtype.kind == "f" and dtype.category != FLOATING and not np.all(np.isfinite(arr)):
        raise DTypeError(f"tensor(): cannot convert non-finite floats to {dtype}")
    return arr.astype(dtype.numpy)


def _sequence_dtype(data):
    """torch's inference for nested sequences: each element's own type (Python bool/int/float ->
    bool/int64/default float; tensors and numpy scalars or arrays keep theirs), promoted together.
    None for an empty sequence."""
    from ..dtypes import promote_types

    found = None
    for x in data:
        if isinstance(x, (list, tuple)):
            d = _sequence_dtype(x)
        elif isinstance(x, TensorBase):
            d = x.dtype
        elif isinstance(x, (np.ndarray, np.generic)):
            d = _BY_NUMPY.get(x.dtype)
        elif isinstance(x, (bool, int, float)):
            d = _scalar_dtype(x)
        else:
            d = None  # left to numpy, which reports unsupported data below
        if d is not None:
            found = d if found is None else promote_types(found, d)
    return found


def _unwrap_nested(data):
    out = []
    for x in data:
        if isinstance(x, TensorBase):
            out.append(x.detach().cpu().numpy())
        elif isinstance(x, (list, tuple)):
            out.append(_unwrap_nested(x))
        else:
            out.append(x)
    return out


def tensor(data: Any, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False):
    """A new tensor holding a copy of ``data`` (nested lists, scalars, numpy arrays).

    Python floats become the default dtype (float32), ints int64, bools bool;
    numpy arrays keep their dtype.

    Example:
        >>> import neurarust as nr
        >>> nr.tensor([[1, 2], [3, 4]]).dtype, nr.tensor(2.5).dtype
        (neurarust.int64, neurarust.float32)
    """
    arr = _infer_numpy(data, dtype_arg(dtype))
    dev = as_device(device)
    arr = np.array(arr, copy=True, order="C")
    return _finish(wrap(backend_for(dev).from_numpy(arr), dev), requires_grad)


def as_tensor(data: Any, dtype=None, device=None):
    """Like :func:`tensor`, but shares memory with ``data`` when no conversion is needed.

    Example:
        >>> import neurarust as nr, numpy as np
        >>> a = np.zeros(2); t = nr.as_tensor(a); a[0] = 1; t
        tensor([1., 0.], dtype=neurarust.float64)
    """
    dtype = dtype_arg(dtype)
    dev = as_device(device)
    if isinstance(data, TensorBase):
        return data.to(dtype=dtype or data.dtype, device=dev)
    if isinstance(data, np.ndarray) and dev is CPU and (dtype is None or data.dtype == dtype.numpy):
        try:
            return from_numpy(data)
        except (DTypeError, ShapeError):
            pass
    return tensor(data, dtype=dtype, device=dev)


def from_numpy(array: np.ndarray):
    """A CPU tensor that shares memory with ``array`` (zero-copy, strided views included).

    Example:
        >>> import neurarust as nr, numpy as np
        >>> a = np.arange(6.0).reshape(2, 3); t = nr.from_numpy(a.T)
        >>> t.stride(), t.shape
        ((1, 3), neurarust.Size([3, 2]))
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy(): expected np.ndarray, got {type(array).__name__}")
    dtype = _BY_NUMPY.get(array.dtype)
    if dtype is None:
        raise DTypeError(
            f"from_numpy(): can't convert np.ndarray of type {array.dtype}. The only supported types "
            f"are: float64, float32, float16, int64, int32, int16, int8, uint8, and bool."
        )
    if any(s < 0 for s in array.strides):
        raise ShapeError(
            "from_numpy(): at least one stride in the given numpy array is negative; this is not "
            "supported (use array.copy())"
        )
    if any(s % array.itemsize for s in array.strides):
        raise ShapeError("from_numpy(): strides that are not a multiple of the element size are not supported")
    if not array.dtype.isnative:
        raise DTypeError("from_numpy(): byte-swapped (non-native byte order) arrays are not supported")
    return wrap(array, CPU, dtype)


def _filled(op: str, size, fill, dtype, device, requires_grad):
    shape = as_shape(size, op)
    dev = as_device(device)
    b = backend_for(dev)
    if fill is None:
        data = b.empty(shape, dtype.numpy)
    elif type(fill) is int and fill == 0:
        data = b.zeros(shape, dtype.numpy)
    else:
        data = b.full(shape, fill, dtype.numpy)
    return _finish(wrap(data, dev, dtype), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False, **_ignored):
    """An uninitialised tensor of the given shape.

    Example:
        >>> import neurarust as nr
        >>> nr.empty(2, 3).shape
        neurarust.Size([2, 3])
    """
    return _filled("empty", size, None, dtype_arg(dtype) or get_default_dtype(), device, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False, **_ignored):
    """A tensor of zeros.

    Example:
        >>> import neurarust as nr
        >>> nr.zeros(2, dtype=nr.int32)
        tensor([0, 0], dtype=neurarust.int32)
    """
    return _filled("zeros", size, 0, dtype_arg(dtype) or get_default_dtype(), device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False, **_ignored):
    """A tensor of ones.

    Example:
        >>> import neurarust as nr
        >>> nr.ones(2)
        tensor([1., 1.])
    """
    return _filled("ones", size, 1, dtype_arg(dtype) or get_default_dtype(), device, requires_grad)


def _scalar_dtype(value):
    if isinstance(value, TensorBase):
        return value.dtype
    cat = scalar_category(value)
    return bool_ if cat == BOOL else int64 if cat != FLOATING else get_default_dtype()


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False, **_ignored):
    """A tensor filled with ``fill_value`` (dtype inferred from it, as in torch).

    Example:
        >>> import neurarust as nr
        >>> nr.full((2,), 1.5), nr.full((1,), True)
        (tensor([1.5000, 1.5000]), tensor([True]))
    """
    if isinstance(fill_value, TensorBase):
        fill_value = fill_value.item()
    dtype = dtype_arg(dtype) or _scalar_dtype(fill_value)
    return _filled("full", (size,), fill_value, dtype, device, requires_grad)


def _like(fn, t, dtype, device, requires_grad, *extra):
    return fn(tuple(t.shape), *extra, dtype=dtype_arg(dtype) or t.dtype, device=device or t.device,
              requires_grad=requires_grad)


def empty_like(input, *, dtype=None, device=None, requires_grad: bool = False, **_ignored):
    """Uninitialised tensor with ``input``'s shape, dtype and device."""
    return _like(empty, input, dtype, device, requires_grad)


def zeros_like(input, *, dtype=None, device=None, requires_grad: bool = False, **_ignored):
    """Zeros with ``input``'s shape, dtype and device.

    Example:
        >>> import neurarust as nr
        >>> nr.zeros_like(nr.ones(2, dtype=nr.int64))
        tensor([0, 0])
    """
    return _like(zeros, input, dtype, device, requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad: bool = False, **_ignored):
    """Ones with ``input``'s shape, dtype and device.

    Example:
        >>> import neurarust as nr
        >>> nr.ones_like(nr.zeros(2))
        tensor([1., 1.])
    """
    return _like(ones, input, dtype, device, requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad: bool = False, **_ignored):
    """``fill_value`` with ``input``'s shape, dtype and device.

    Example:
        >>> import neurarust as nr
        >>> nr.full_like(nr.zeros(2), 3)
        tensor([3., 3.])
    """
    return full(tuple(input.shape), fill_value, dtype=dtype_arg(dtype) or input.dtype,
                device=device or input.device, requires_grad=requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad: bool = False, **_ignored):
    """Values from ``start`` to ``end`` (exclusive) by ``step``.

    Example:
        >>> import neurarust as nr
        >>> nr.arange(1, 2, 0.25)
        tensor([1.0000, 1.2500, 1.5000, 1.7500])
    """
    if end is None:
        start, end = 0, start
    values = [v.item() if isinstance(v, TensorBase) else v for v in (start, end, step)]
    start, end, step = values
    if step == 0:
        raise ShapeError("arange(): step must be nonzero")
    if any(isinstance(v, float) and not math.isfinite(v) for v in values):
        raise ShapeError(f"arange(): unsupported range {start} -> {end} with step {step}")
    if (end - start) * step < 0:
        raise ShapeError(
            f"arange(): upper bound and larger bound inconsistent with step sign (start={start}, "
            f"end={end}, step={step})"
        )
    dtype = dtype_arg(dtype)
    if dtype is None:
        dtype = get_default_dtype() if any(isinstance(v, (float, np.floating)) for v in values) else int64
    n = int(math.ceil((end - start) / step))
    if dtype.category == FLOATING:
        arr = (start + np.arange(n, dtype=np.float64) * step).astype(dtype.numpy)
    else:
        arr = (start + np.arange(n, dtype=np.int64) * step).astype(dtype.numpy)
    dev = as_device(device)
    return _finish(wrap(backend_for(dev).from_numpy(arr), dev, dtype), requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad: bool = False, **_ignored):
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive.

    Example:
        >>> import neurarust as nr
        >>> nr.linspace(0, 1, 5)
        tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000])
    """
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ShapeError(f"linspace(): number of steps must be a non-negative int, got {steps!r}")
    dtype = dtype_arg(dtype) or get_default_dtype()
    arr = np.linspace(float(start), float(end), int(steps)).astype(dtype.numpy)
    dev = as_device(device)
    return _finish(wrap(backend_for(dev).from_numpy(arr), dev, dtype), requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None,
             requires_grad: bool = False, **_ignored):
    """``base ** linspace(start, end, steps)``.

    Example:
        >>> import neurarust as nr
        >>> nr.logspace(0, 2, 3)
        tensor([  1.,  10., 100.])
    """
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ShapeError(f"logspace(): number of steps must be a non-negative int, got {steps!r}")
    dtype = dtype_arg(dtype) or get_default_dtype()
    arr = np.power(float(base), np.linspace(float(start), float(end), int(steps))).astype(dtype.numpy)
    dev = as_device(device)
    return _finish(wrap(backend_for(dev).from_numpy(arr), dev, dtype), requires_grad)


def eye(n: int, m: Optional[int] = None, *, dtype=None, device=None, requires_grad: bool = False, **_ignored):
    """The identity matrix (``n`` x ``m``).

    Example:
        >>> import neurarust as nr
        >>> nr.eye(2, 3, dtype=nr.int64)
        tensor([[1, 0, 0],
                [0, 1, 0]])
    """
    m = n if m is None else m
    if n < 0 or m < 0:
        raise ShapeError(f"eye(): n and m must be non-negative, got n={n}, m={m}")
    dtype = dtype_arg(dtype) or get_default_dtype()
    dev = as_device(device)
    return _finish(wrap(backend_for(dev).from_numpy(np.eye(n, m, dtype=dtype.numpy)), dev, dtype), requires_grad)


def scalar_tensor(value, *, dtype=None, device=None, requires_grad: bool = False):
    """A 0-d tensor."""
    return tensor(value, dtype=dtype or get_default_dtype(), device=device, requires_grad=requires_grad)


def is_tensor(obj) -> bool:
    """Whether ``obj`` is a tensor.

    Example:
        >>> import neurarust as nr
        >>> nr.is_tensor(nr.ones(1)), nr.is_tensor([1])
        (True, False)
    """
    return isinstance(obj, TensorBase)


def numel(input) -> int:
    """Number of elements of ``input``."""
    return input.numel()


class ToCopy(Function):
    """dtype/device conversion; the gradient converts back."""

    @staticmethod
    def forward(ctx, x, dtype, device, non_blocking=False):
        ctx.src = (x._dtype, x._device)
        data = x._data
        if device is not x._device:
            # Between devices the data goes through host memory: the source
            # backend hands a NumPy array, the target backend uploads it.
            host = backend_for(x._device).to_numpy(data)
            data = backend_for(device).from_numpy(host, non_blocking=non_blocking)
            if data is host:  # the target keeps host arrays as they are (the CPU): copy
                data = np.array(host, order="C", copy=True)
        b = backend_for(device)
        if dtype is not x._dtype:
            data = b.cast(data, dtype.numpy)
        elif data is x._data:
            data = b.contiguous(data)
        return wrap(data, device, dtype)

    @staticmethod
    def backward(ctx, g):
        dtype, device = ctx.src
        return _to(g, dtype if dtype.is_floating_point else None, device, False), None, None, None


def _to(t, dtype, device, copy: bool, non_blocking: bool = False):
    dtype = t._dtype if dtype is None else dtype
    device = t._device if device is None else device
    if dtype is t._dtype and (device is t._device or device == t._device) and not copy:
        return t
    return ToCopy.apply(t, dtype, device, non_blocking)


def _rebuild(array, device, requires_grad):
    t = tensor(array, device=device)
    if requires_grad:
        t.requires_grad_(True)
    return t
