"""Small shared helpers for the op modules: wrapping arrays, dims, scalars, devices."""
from __future__ import annotations

from typing import Iterable, Sequence, Tuple

import numpy as np

from .._core.tensor_base import TensorBase, _wrap_dim, make_tensor
from ..device import backend_for
from ..dtypes import _BY_NUMPY, as_dtype
from ..errors import DeviceError, ShapeError

wrap_dim = _wrap_dim
_TENSOR_CLS = []  # filled by neurarust.tensor once Tensor exists


def tensor_cls():
    return _TENSOR_CLS[0]


def wrap(data, device, dtype=None):
    """A new tensor (own storage) around a freshly computed backend array."""
    return make_tensor(_TENSOR_CLS[0], data, dtype if dtype is not None else _BY_NUMPY[data.dtype], device)


def view_of(src, data):
    """A tensor that views ``src``'s storage: same version counter, same root base."""
    base = src._base if src._base is not None else src
    return make_tensor(_TENSOR_CLS[0], data, src._dtype, src._device, src._version_counter, base)


def backend(t):
    return backend_for(t._device)


def is_tensor(x) -> bool:
    return isinstance(x, TensorBase)


def common_device(op: str, *tensors):
    """The device an op runs on; 0-d CPU tensors may join any device (as in torch)."""
    dev = None
    for t in tensors:
        if not isinstance(t, TensorBase):
            continue
        if dev is None:
            dev = t._device
        elif t._device is not dev and t._device != dev:
            if t._device.type == "cpu" and t.ndim == 0:
                continue
            if dev.type == "cpu" and any(x is not t and isinstance(x, TensorBase) and x._device is dev and x.ndim == 0 for x in tensors):
                dev = t._device
                continue
            raise DeviceError(
                f"{op}: expected all tensors to be on the same device, but found at least two "
                f"devices, {dev} and {t._device}"
            )
    return dev


def normalize_dims(dim, ndim: int, op: str) -> Tuple[int, ...]:
    """``dim`` (None, int or sequence) as a sorted tuple of non-negative dims; () means all."""
    if dim is None:
        return ()
    if isinstance(dim, (int, np.integer)):
        d = wrap_dim(dim, ndim, op)
        return (d,) if ndim else ()
    dims = tuple(wrap_dim(d, ndim, op) for d in dim)
    if len(set(dims)) != len(dims):
        raise ShapeError(f"{op}(): dim {tuple(dim)} appears multiple times in the list of dims")
    if ndim == 0:
        return ()  # torch accepts dim 0/-1 on a 0-d tensor: the whole (single) element
    return tuple(sorted(dims))


def as_shape(args: Sequence, op: str) -> Tuple[int, ...]:
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` shape arguments."""
    if len(args) == 1 and not isinstance(args[0], (int, np.integer, TensorBase)):
        args = tuple(args[0])
    shape = []
    for s in args:
        if isinstance(s, TensorBase):
            s = s.item()
        try:
            s = int(s.__index__())
        except (AttributeError, TypeError):
            raise TypeError(f"{op}(): shape entries must be ints, got {type(s).__name__}") from None
        if s < 0:
            raise ShapeError(f"{op}(): negative dimension {s} in shape {tuple(args)}")
        shape.append(s)
    return tuple(shape)


def broadcast_shapes(op: str, *shapes: Iterable[int]) -> Tuple[int, ...]:
    ndim = max((len(s) for s in shapes), default=0)
    result = [1] * ndim
    for s in shapes:
        s = tuple(s)
        for i, n in enumerate(s):
            j = ndim - len(s) + i
            if result[j] == 1:
                result[j] = n
            elif n != 1 and n != result[j]:
                raise ShapeError(
                    f"{op}: shapes {' and '.join(str(list(x)) for x in shapes)} cannot be broadcast "
                    f"together (size {result[j]} vs {n} at dim {j - ndim})"
                )
    return tuple(result)


def dtype_arg(dtype):
    return None if dtype is None else as_dtype(dtype)
