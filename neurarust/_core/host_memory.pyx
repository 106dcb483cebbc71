# cython: language_level=3
"""Host memory for large CPU arrays: pages reused across steps instead of faulted in anew.

Large fresh arrays are the single largest cost of a small CNN's training step:
glibc serves them with mmap and gives them back on free, so every step faults
in (and the kernel zeroes) ~25 MB of new pages -- about as long as all three
conv GEMMs of the step, and as long as the arithmetic of a large elementwise
op.  ``empty`` hands out arrays backed by a block that returns to a free list
(keyed by byte size) when the last array or view using it dies, so the next
step reuses pages that are already mapped.  The free list is capped; blocks
beyond the cap are released.  Arrays under MIN_CACHED bytes are plain numpy
arrays.  The CPU backend takes its elementwise, matmul, linear, conv and
pooling outputs from here.

Example:
    >>> import numpy as np
    >>> from neurarust._core import host_memory
    >>> a = host_memory.empty((512, 256), np.float32)
    >>> a.shape, a.dtype, a.flags.c_contiguous, a.flags.writeable
    ((512, 256), dtype('float32'), True, True)
"""
cimport numpy as cnp
from libc.stdlib cimport free, malloc
from numpy cimport ndarray, npy_intp

import numpy as np

cnp.import_array()

__all__ = ["empty"]

cdef dict _free_blocks = {}
cdef Py_ssize_t _cached_bytes = 0
cdef Py_ssize_t CACHE_LIMIT = 1 << 26
cdef Py_ssize_t MIN_CACHED = 1 << 18


cdef class _Block:
    """Owns one malloc'd buffer; on deallocation the buffer goes back to the free list."""
    cdef void* ptr
    cdef Py_ssize_t nbytes

    def __dealloc__(self):
        global _cached_bytes
        if self.ptr == NULL:
            return
        # Module globals may already be gone at interpreter shutdown.
        if _free_blocks is not None and _cached_bytes + self.nbytes <= CACHE_LIMIT:
            _free_blocks.setdefault(self.nbytes, []).append(<size_t>self.ptr)
            _cached_bytes += self.nbytes
        else:
            free(self.ptr)
        self.ptr = NULL


cdef ndarray empty_array(int nd, npy_intp* dims, int typenum):
    """A C-ordered array of a native numeric ``typenum``, from the free list when large."""
    global _cached_bytes
    cdef Py_ssize_t nbytes = cnp.PyArray_DescrFromType(typenum).itemsize
    cdef int d
    for d in range(nd):
        nbytes *= dims[d]
    if nbytes < MIN_CACHED:
        return cnp.PyArray_EMPTY(nd, dims, typenum, 0)
    cdef list blocks = _free_blocks.get(nbytes)
    cdef void* ptr
    if blocks:
        ptr = <void*><size_t>blocks.pop()
        _cached_bytes -= nbytes
    else:
        ptr = malloc(nbytes)
        if ptr == NULL:
            raise MemoryError(f"empty: cannot allocate {nbytes} bytes")
    cdef _Block blk = _Block.__new__(_Block)
    blk.ptr = ptr
    blk.nbytes = nbytes
    cdef ndarray arr = cnp.PyArray_SimpleNewFromData(nd, dims, typenum, ptr)
    cnp.set_array_base(arr, blk)
    return arr


cpdef ndarray empty(object shape, object dtype):
    """Like ``np.empty(shape, dtype)`` (C order), reusing the pages of dead arrays of the same size.

    Example:
        >>> import numpy as np
        >>> from neurarust._core import host_memory
        >>> host_memory.empty((2, 3), np.int64).shape
        (2, 3)
    """
    cdef object dt = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)
    cdef tuple shp = shape if type(shape) is tuple else tuple(shape)
    cdef npy_intp dims[32]
    cdef Py_ssize_t nd = len(shp), nbytes = dt.itemsize, d
    if nd > 32:
        return np.empty(shp, dt)
    for d in range(nd):
        dims[d] = shp[d]
        if dims[d] < 0:
            raise ValueError(f"empty: negative dimension in shape {shp}")
        nbytes *= dims[d]
    # Small arrays, the common case, skip the dtype checks the free list needs.
    if nbytes < MIN_CACHED or dt.kind not in "biufc" or not dt.isnative:
        return np.empty(shp, dt)
    return empty_array(<int>nd, dims, dt.num)


def _cache_info():
    """(bytes held in the free list, number of free blocks) -- for tests."""
    return _cached_bytes, sum(len(v) for v in _free_blocks.values())
