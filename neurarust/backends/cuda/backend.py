"""``CUDABackend``: the backend protocol (``docs/architecture.rst``) on NVIDIA GPUs.

Arrays are :class:`~neurarust.backends.cuda.array.CUDAArray` views over
pooled device blocks.  This module holds memory and layout; each family of
compute methods is a mixin in its own module, next to its kernel templates
in ``kernels/``:

==================  ================================  ==============================
methods             host side                         kernels
==================  ================================  ==============================
elementwise, copy   ``elementwise.py``                ``kernels/elementwise.py``
reductions          ``reduce.py``                     ``kernels/reduce.py``
matmul              ``linalg.py`` (cuBLAS, ``blas.py``)
indexing, sort      ``index.py``                      ``kernels/index.py``
random              ``random.py``                     ``kernels/random.py``
conv, pool, norm,   ``nn.py``                         ``kernels/nn.py``
losses, optimizers
==================  ================================  ==============================
"""
from __future__ import annotations

import numpy as np

from .array import CUDAArray, contiguous_strides
from .elementwise import ElementwiseMethods
from .index import IndexMethods
from .linalg import LinalgMethods
from .nn import NNMethods
from .random import RandomMethods
from .reduce import ReduceMethods
from .runtime import runtime_for

__all__ = ["CUDABackend"]


class CUDABackend(ElementwiseMethods, ReduceMethods, LinalgMethods, IndexMethods, RandomMethods,
                  NNMethods):
    """Kernels and memory for one ``device('cuda:N')``."""

    name = "cuda"

    def __init__(self, device) -> None:
        self.device = device
        self.rt = runtime_for(device.index or 0)

    # ----------------------------------------------------------------- memory
    def empty(self, shape, np_dtype) -> CUDAArray:
        shape = tuple(int(n) for n in shape)
        dtype = np.dtype(np_dtype)
        n = 1
        for d in shape:
            n *= d
        block = self.rt.alloc(n * dtype.itemsize)
        return CUDAArray(block, shape, contiguous_strides(shape), 0, dtype)

    def zeros(self, shape, np_dtype) -> CUDAArray:
        out = self.empty(shape, np_dtype)
        self.rt.memset_zero(out.ptr, out.size * out.itemsize)
        return out

    def full(self, shape, value, np_dtype) -> CUDAArray:
        out = self.empty(shape, np_dtype)
        self.fill_(out, value)
        return out

    def scalar_array(self, value, np_dtype) -> CUDAArray:
        """A 0-d array that kernels can also take by value (``host_value``): no copy to wait for."""
        out = self.full((), value, np_dtype)
        out.host_value = np.asarray(value, np_dtype)[()]
        return out

    def from_numpy(self, array: np.ndarray, non_blocking: bool = False) -> CUDAArray:
        host = np.ascontiguousarray(array).reshape(np.shape(array))  # ascontiguousarray makes 0-d 1-D
        out = self.empty(host.shape, host.dtype)
        self.rt.upload(out.ptr, host, non_blocking=non_blocking and host is array)
        return out

    def to_numpy(self, arr) -> np.ndarray:
        if isinstance(arr, np.ndarray):
            return arr
        arr = self._dense(arr)
        host = np.empty(arr.shape, arr.dtype)
        self.rt.download(host, arr.ptr)
        return host

    def pin_host(self, host: np.ndarray) -> np.ndarray:
        """A page-locked copy of a host array: ``non_blocking`` uploads from it are asynchronous."""
        pinned = self.rt.pagelocked_empty(host.shape, host.dtype)
        pinned[...] = host
        return pinned

    def is_pinned_host(self, host: np.ndarray) -> bool:
        from .runtime import is_pagelocked

        return is_pagelocked(host)

    def storage_of(self, arr: CUDAArray) -> CUDAArray:
        """A flat 1-D array from a root array's first element to the end of its block.

        View offsets are relative to the root's first element, as on the CPU,
        also when a kernel returned the root as a view into a larger block.
        """
        return CUDAArray(arr.storage, (arr.storage.nbytes // arr.itemsize - arr.offset,), (1,), arr.offset,
                         arr.dtype)

    def view(self, storage: CUDAArray, shape, strides, offset) -> CUDAArray:
        return CUDAArray(storage.storage, shape, strides, storage.offset + int(offset), storage.dtype)

    def reshape_view(self, arr: CUDAArray, shape) -> CUDAArray:
        """A view of a C-contiguous array with a new shape (never a copy; one -1 is inferred, as in numpy)."""
        shape = tuple(int(n) for n in shape)
        if -1 in shape:
            known = 1
            for n in shape:
                known *= n if n != -1 else 1
            shape = tuple(arr.size // known if n == -1 and known else (0 if n == -1 else n) for n in shape)
        return CUDAArray(arr.storage, shape, contiguous_strides(shape), arr.offset, arr.dtype)

    def permute(self, arr: CUDAArray, dims) -> CUDAArray:
        return CUDAArray(arr.storage, tuple(arr.shape[d] for d in dims), tuple(arr.strides[d] for d in dims),
                         arr.offset, arr.dtype)

    def data_ptr(self, arr: CUDAArray) -> int:
        return arr.ptr

    def element_strides(self, arr: CUDAArray):
        return arr.strides

    def is_c_contiguous(self, arr: CUDAArray) -> bool:
        return arr.is_c_contiguous()

    def _dense(self, arr):
        """``arr`` itself when C-contiguous, else a contiguous copy (None passes through).

        Unlike the protocol's ``contiguous`` (always a fresh array), for kernels
        that only need a dense input.
        """
        return arr if arr is None or arr.is_c_contiguous() else self.contiguous(arr)

    def contiguous(self, arr: CUDAArray) -> CUDAArray:
        out = self.empty(arr.shape, arr.dtype)
        self.copy_(out, arr)
        return out

    def cast(self, arr: CUDAArray, np_dtype) -> CUDAArray:
        out = self.empty(arr.shape, np_dtype)
        self.copy_(out, arr)
        return out

    def synchronize(self) -> None:
        self.rt.synchronize()
