"""``CUDAArray``: a strided view over a block of GPU memory, and layout helpers.

A CUDA tensor's ``_data`` is a ``CUDAArray``: the storage (a pooled device
allocation), a shape, element strides and an element offset, like a numpy
view over a flat buffer.  The rest of NeuraRust reads only ``shape``,
``ndim``, ``size`` and ``dtype`` from it; kernels get ``ptr`` (the address
of element 0) and the strides.

The layout helpers here are plain Python so that they are tested on every
machine, GPU or not.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["CUDAArray", "contiguous_strides", "merge_dims", "broadcast_strides", "MAX_KERNEL_DIMS"]

# Strided kernels take this many dims as scalar arguments; layouts with more
# (after merging) are split into sub-launches over the leading dims.
MAX_KERNEL_DIMS = 8


def contiguous_strides(shape: Sequence[int]) -> Tuple[int, ...]:
    """C-order element strides of ``shape``."""
    strides = [0] * len(shape)
    step = 1
    for d in range(len(shape) - 1, -1, -1):
        strides[d] = step
        step *= max(int(shape[d]), 1)
    return tuple(strides)


def broadcast_strides(shape: Sequence[int], strides: Sequence[int], out_shape: Sequence[int]) -> Tuple[int, ...]:
    """Strides that read an array of ``shape`` broadcast to ``out_shape`` (0 on broadcast dims)."""
    lead = len(out_shape) - len(shape)
    result = [0] * len(out_shape)
    for d, (n, s) in enumerate(zip(shape, strides)):
        result[lead + d] = 0 if n == 1 else s
    return tuple(result)


def merge_dims(shape: Sequence[int], strides_list: Sequence[Sequence[int]]
               ) -> Tuple[Tuple[int, ...], List[Tuple[int, ...]]]:
    """Drop size-1 dims and merge neighbours that are contiguous for every operand.

    Returns ``(shape, [strides per operand])`` describing the same elements in
    the same order with as few dims as possible; a kernel's index arithmetic
    is one divide per remaining dim, so fewer dims means cheaper indexing.

    Example:
        >>> merge_dims((2, 3, 4), [(12, 4, 1), (0, 0, 1)])
        ((6, 4), [(4, 1), (0, 1)])
    """
    dims = [d for d, n in enumerate(shape) if n != 1]
    if not dims:
        return (), [() for _ in strides_list]
    out_shape = [int(shape[dims[0]])]
    out_strides = [[int(s[dims[0]])] for s in strides_list]
    for d in dims[1:]:
        n = int(shape[d])
        if all(st[-1] == s[d] * n for st, s in zip(out_strides, strides_list)):
            out_shape[-1] *= n
            for st, s in zip(out_strides, strides_list):
                st[-1] = s[d]
        else:
            out_shape.append(n)
            for st, s in zip(out_strides, strides_list):
                st.append(int(s[d]))
    return tuple(out_shape), [tuple(st) for st in out_strides]


class CUDAArray:
    """A view of ``shape``/``strides``/``offset`` (in elements) over a device storage.

    ``storage`` is a :class:`~neurarust.backends.cuda.allocator.Block` (or
    anything with ``ptr``, ``nbytes`` and ``device_index``); the array keeps it
    alive.  ``host_value`` is set on 0-d arrays made from a Python scalar:
    kernels then take the value as an argument instead of reading memory, so
    ``x * 2.0`` needs no host-to-device copy.
    """

    __slots__ = ("storage", "shape", "strides", "offset", "dtype", "host_value", "__weakref__")

    def __init__(self, storage, shape: Sequence[int], strides: Sequence[int], offset: int, dtype,
                 host_value: Optional[object] = None) -> None:
        self.storage = storage
        self.shape = tuple(int(n) for n in shape)
        self.strides = tuple(int(s) for s in strides)
        self.offset = int(offset)
        self.dtype = np.dtype(dtype)
        self.host_value = host_value

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def ptr(self) -> int:
        """Device address of the element at index 0 (the view's origin)."""
        return self.storage.ptr + self.offset * self.dtype.itemsize

    @property
    def device_index(self) -> int:
        return self.storage.device_index

    def is_c_contiguous(self) -> bool:
        step = 1
        for n, s in zip(reversed(self.shape), reversed(self.strides)):
            if n != 1 and s != step:
                return False
            step *= n
        return True

    def span(self) -> Tuple[int, int]:
        """``(lowest, highest + 1)`` element offsets touched, relative to the storage start."""
        if self.size == 0:
            return self.offset, self.offset
        lo = hi = self.offset
        for n, s in zip(self.shape, self.strides):
            if s > 0:
                hi += (n - 1) * s
            else:
                lo += (n - 1) * s
        return lo, hi + 1

    def __repr__(self) -> str:
        return (f"CUDAArray(shape={self.shape}, strides={self.strides}, offset={self.offset}, "
                f"dtype={self.dtype}, device={self.storage.device_index})")
