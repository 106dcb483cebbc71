# cython: language_level=3
"""The hot methods of the CPU backend, in Cython.

``neurarust.backends.cpu.CPUBackend`` subclasses this: the methods every small
op goes through (output allocation with broadcasting, scalar operands, the
elementwise kernel calls) cost a few hundred nanoseconds here instead of
microseconds in Python.
"""
cimport numpy as cnp
from numpy cimport ndarray, npy_intp

import numpy as np

from neurarust._core import elementwise as _ew
from neurarust._core.host_memory cimport empty as host_empty, empty_array

cnp.import_array()

cdef dict _BINARY_CODES = _ew.BINARY_OPS
cdef dict _UNARY_CODES = _ew.UNARY_OPS
cdef object _ew_binary = _ew.binary
cdef object _ew_unary = _ew.unary
cdef frozenset _BOOL_BINARY = frozenset({"eq", "ne", "lt", "le", "gt", "ge", "logical_and",
                                         "logical_or", "logical_xor"})
cdef frozenset _BOOL_UNARY = frozenset({"isnan", "isinf", "isfinite", "logical_not"})

DEF MAX_DIMS = 64


cdef int _broadcast_dims(ndarray a, ndarray b, npy_intp* dims) except -1:
    """Broadcast shape of a and b into dims; returns ndim. Raises ValueError on mismatch."""
    cdef int na = cnp.PyArray_NDIM(a), nb = cnp.PyArray_NDIM(b)
    cdef int nd = na if na > nb else nb
    cdef npy_intp* da = cnp.PyArray_DIMS(a)
    cdef npy_intp* db = cnp.PyArray_DIMS(b)
    cdef int i
    cdef npy_intp x, y
    if nd > MAX_DIMS:
        raise ValueError(f"broadcast: at most {MAX_DIMS} dimensions are supported, got {nd}")
    for i in range(nd):
        x = da[na - nd + i] if na - nd + i >= 0 else 1
        y = db[nb - nd + i] if nb - nd + i >= 0 else 1
        if x == y or y == 1:
            dims[i] = x
        elif x == 1:
            dims[i] = y
        else:
            raise ValueError(f"shapes {(<object>a).shape} and {(<object>b).shape} cannot be broadcast together")
    return nd


cdef class CPUBackendCore:
    """Allocation and elementwise dispatch for CPU tensors (numpy arrays)."""

    cpdef ndarray empty(self, object shape, object np_dtype):
        return host_empty(shape, np_dtype)

    cpdef ndarray scalar_array(self, object value, object np_dtype):
        return np.asarray(value, np_dtype)

    cpdef ndarray binary(self, str op, ndarray a, ndarray b, object out=None):
        """``op(a, b)`` broadcast; a and b share a dtype. Comparisons give bool."""
        cdef npy_intp dims[MAX_DIMS]
        cdef int nd, typenum
        cdef object code = _BINARY_CODES.get(op)
        if code is None:
            raise ValueError(f"binary: unknown op {op!r}")
        if out is None:
            nd = _broadcast_dims(a, b, dims)
            typenum = cnp.NPY_BOOL if op in _BOOL_BINARY else cnp.PyArray_TYPE(a)
            out = empty_array(nd, dims, typenum)
        _ew_binary(code, a, b, out)
        return <ndarray>out

    cpdef ndarray unary(self, str op, ndarray a, double p0=0.0, double p1=0.0, object out=None):
        """``op(a)``; ``isnan``-like ops give bool."""
        cdef object code = _UNARY_CODES.get(op)
        if code is None:
            raise ValueError(f"unary: unknown op {op!r}")
        if out is None:
            out = empty_array(cnp.PyArray_NDIM(a), cnp.PyArray_DIMS(a),
                              cnp.NPY_BOOL if op in _BOOL_UNARY else cnp.PyArray_TYPE(a))
        _ew_unary(code, a, out, p0, p1)
        return <ndarray>out
