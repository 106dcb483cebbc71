"""Gather/scatter family kernels for CPU tensors.

All kernels walk their arrays with one strided-loop engine (``StridedLoop``):
adjacent dims that are contiguous with each other are merged (C order is
kept, so order-dependent results stay deterministic) and the last dim is a
tight inner loop.  The indexed axis gets stride 0 in the array the index
points into; the kernel adds ``index * axis_stride`` itself.

Pure data moves dispatch on the element size (1/2/4/8 bytes) only, so one
kernel serves every dtype of that size, float16 included; arithmetic
reductions are typed.  Indices are int64 in ``[0, size)`` (the caller wraps
negatives) and every one is checked before anything is written.
"""
cimport numpy as cnp
from libc.math cimport floor
from libc.stdint cimport (int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t,
                          uint64_t, uintptr_t)
from libc.string cimport memmove, memset
from numpy cimport ndarray

import numpy as np

cnp.import_array()

__all__ = ["index_select", "gather", "scatter", "index_add", "take", "masked_select",
           "nonzero", "masked_fill"]


cdef enum DType:
    DT_UNSUPPORTED
    DT_BOOL
    DT_INT8
    DT_UINT8
    DT_INT16
    DT_INT32
    DT_INT64
    DT_FLOAT16
    DT_FLOAT32
    DT_FLOAT64


cdef enum Reduce:
    REDUCE_NONE
    REDUCE_ADD
    REDUCE_MULTIPLY
    REDUCE_AMAX
    REDUCE_AMIN


cdef enum Move:
    MOVE_GATHER          # operands (out, index, src):  out[p] = src[p + index[p] * axis_stride]
    MOVE_SCATTER         # operands (index, src, out):  out[p + index[p] * axis_stride] = src[p]
    MOVE_TAKE_STRIDED    # operands (out, index):       out[p] = src at C-order position index[p]
    MOVE_MASKED_SELECT   # operands (src, mask):        *dest++ = src[p] where mask[p]
    MOVE_MASKED_FILL     # operands (data, mask):       data[p] = value where mask[p]


cdef enum:
    MAX_DIMS = 64
    MAX_OPERANDS = 3


ctypedef fused move_t:
    uint8_t
    uint16_t
    uint32_t
    uint64_t


ctypedef fused reduce_t:
    int8_t
    uint8_t
    int16_t
    int32_t
    int64_t
    float
    double


cdef struct StridedLoop:
    int ndim
    int nops
    Py_ssize_t shape[MAX_DIMS]
    Py_ssize_t strides[MAX_OPERANDS][MAX_DIMS]
    Py_ssize_t counter[MAX_DIMS]
    char* base[MAX_OPERANDS]
    # Extra inputs of particular kernels.
    Py_ssize_t axis_stride
    # Indices were validated against this bound; kernels re-check it so that
    # another thread rewriting the index array meanwhile cannot make them
    # touch memory out of bounds (such elements are skipped).
    uint64_t index_bound
    char* dest
    Py_ssize_t dest_count
    char* src
    StridedLoop* src_layout


# ---------------------------------------------------------------------------
# Strided-loop engine


cdef Py_ssize_t loop_prepare(StridedLoop* loop, bint coalesce) noexcept nogil:
    """Resets the counters, optionally merges dims; returns the element count."""
    cdef int d, op, kept = 0
    cdef Py_ssize_t total = 1
    cdef bint mergeable
    for d in range(loop.ndim):
        total *= loop.shape[d]
    if coalesce:
        for d in range(loop.ndim):
            if loop.shape[d] == 1:
                continue
            mergeable = kept > 0
            for op in range(loop.nops if kept > 0 else 0):
                if loop.strides[op][kept - 1] != loop.strides[op][d] * loop.shape[d]:
                    mergeable = False
            if mergeable:
                loop.shape[kept - 1] *= loop.shape[d]
            else:
                loop.shape[kept] = loop.shape[d]
                kept += 1
            for op in range(loop.nops):
                loop.strides[op][kept - 1] = loop.strides[op][d]
        loop.ndim = kept
    if loop.ndim == 0:
        loop.ndim = 1
        loop.shape[0] = 1
        for op in range(loop.nops):
            loop.strides[op][0] = 0
    memset(loop.counter, 0, sizeof(loop.counter))
    return total


cdef inline bint loop_next(StridedLoop* loop, char** ptrs) noexcept nogil:
    """Advances the outer dims (all but the last); False once they are exhausted."""
    cdef int d = loop.ndim - 2, op
    while d >= 0:
        loop.counter[d] += 1
        for op in range(loop.nops):
            ptrs[op] += loop.strides[op][d]
        if loop.counter[d] < loop.shape[d]:
            return True
        for op in range(loop.nops):
            ptrs[op] -= loop.strides[op][d] * loop.shape[d]
        loop.counter[d] = 0
        d -= 1
    return False


cdef void loop_init(StridedLoop* loop, ndarray shape_source, int nops) noexcept:
    """Iteration over shape_source's shape (0-d acts as (1,)); operands all stride 0."""
    cdef int d, op, nd = cnp.PyArray_NDIM(shape_source)
    loop.nops = nops
    loop.ndim = max(nd, 1)
    loop.shape[0] = 1
    for d in range(nd):
        loop.shape[d] = cnp.PyArray_DIMS(shape_source)[d]
    for op in range(nops):
        loop.base[op] = NULL
        for d in range(loop.ndim):
            loop.strides[op][d] = 0
    loop.axis_stride = 0
    loop.index_bound = 0
    loop.dest = NULL
    loop.dest_count = 0
    loop.src = NULL
    loop.src_layout = NULL


cdef void loop_operand(StridedLoop* loop, int op, ndarray x, int axis_to_zero) noexcept:
    """x as operand op, its dims aligned with the loop's; one axis may be left at stride 0."""
    cdef int d
    loop.base[op] = <char*>cnp.PyArray_DATA(x)
    for d in range(cnp.PyArray_NDIM(x)):
        loop.strides[op][d] = 0 if d == axis_to_zero else cnp.PyArray_STRIDES(x)[d]


cdef void loop_index_along(StridedLoop* loop, int op, ndarray index, int axis) noexcept:
    """A 0-d/1-D index as operand op: its entries advance along `axis` only."""
    loop.base[op] = <char*>cnp.PyArray_DATA(index)
    if cnp.PyArray_NDIM(index) == 1 and loop.shape[axis] > 1:
        loop.strides[op][axis] = cnp.PyArray_STRIDES(index)[0]


# ---------------------------------------------------------------------------
# Kernels (no GIL; every index they read has been validated)


cdef bint find_bad_index(StridedLoop* loop, int64_t bound, int64_t* bad) noexcept nogil:
    cdef char* ptrs[1]
    cdef Py_ssize_t j, n = loop.shape[loop.ndim - 1], step = loop.strides[0][loop.ndim - 1]
    cdef int64_t value
    ptrs[0] = loop.base[0]
    while True:
        for j in range(n):
            value = (<int64_t*>(ptrs[0] + j * step))[0]
            if <uint64_t>value >= <uint64_t>bound:   # one compare also rejects negatives
                bad[0] = value
                return True
        if not loop_next(loop, ptrs):
            return False


cdef void move_kernel(const move_t* fill_value, StridedLoop* loop, Move move) noexcept nogil:
    """The element-size-generic data moves listed in ``Move``."""
    cdef char* p[MAX_OPERANDS]
    cdef int d, inner = loop.ndim - 1
    cdef Py_ssize_t j, flat, offset, n = loop.shape[inner], axis_stride = loop.axis_stride
    cdef uint64_t bound = loop.index_bound
    cdef int64_t index
    cdef Py_ssize_t s0 = loop.strides[0][inner], s1 = loop.strides[1][inner], s2 = 0
    cdef move_t* dest = <move_t*>loop.dest
    cdef move_t* dest_end = dest + loop.dest_count
    cdef move_t* element
    cdef const StridedLoop* layout = loop.src_layout
    cdef char* row
    for d in range(loop.nops):
        p[d] = loop.base[d]
    if loop.nops > 2:
        s2 = loop.strides[2][inner]
    while True:
        if move == MOVE_GATHER:
            if s1 == 0:
                # The index is constant along the inner dim (index_select off the last axis).
                index = (<int64_t*>p[1])[0]
                row = p[2] + index * axis_stride
                if <uint64_t>index >= bound:
                    pass
                elif s0 == sizeof(move_t) and s2 == sizeof(move_t):
                    memmove(p[0], row, n * sizeof(move_t))
                else:
                    for j in range(n):
                        (<move_t*>(p[0] + j * s0))[0] = (<move_t*>(row + j * s2))[0]
            else:
                for j in range(n):
                    index = (<int64_t*>(p[1] + j * s1))[0]
                    if <uint64_t>index < bound:
                        (<move_t*>(p[0] + j * s0))[0] = \
                            (<move_t*>(p[2] + j * s2 + index * axis_stride))[0]
        elif move == MOVE_SCATTER:
            for j in range(n):
                index = (<int64_t*>(p[0] + j * s0))[0]
                if <uint64_t>index < bound:
                    (<move_t*>(p[2] + j * s2 + index * axis_stride))[0] = (<move_t*>(p[1] + j * s1))[0]
        elif move == MOVE_TAKE_STRIDED:
            for j in range(n):
                flat = (<int64_t*>(p[1] + j * s1))[0]
                if <uint64_t>flat >= bound:
                    continue
                offset = 0
                for d in range(layout.ndim - 1, -1, -1):
                    offset += (flat % layout.shape[d]) * layout.strides[0][d]
                    flat = flat // layout.shape[d]
                (<move_t*>(p[0] + j * s0))[0] = (<move_t*>(loop.src + offset))[0]
        elif move == MOVE_MASKED_SELECT:
            # Branch-free on the (unpredictable) mask: always copy, advance
            # only if selected; the well-predicted bound check keeps the copy
            # after the last selected element inside the result.
            for j in range(n):
                if dest < dest_end:
                    dest[0] = (<move_t*>(p[0] + j * s0))[0]
                dest += (<uint8_t*>(p[1] + j * s1))[0] != 0
        else:
            for j in range(n):
                element = <move_t*>(p[0] + j * s0)
                element[0] = fill_value[0] if (<uint8_t*>(p[1] + j * s1))[0] != 0 else element[0]
        if not loop_next(loop, p):
            return


cdef void run_move(StridedLoop* loop, Move move, Py_ssize_t itemsize, const char* fill_value) noexcept nogil:
    if itemsize == 1:
        move_kernel(<const uint8_t*>fill_value, loop, move)
    elif itemsize == 2:
        move_kernel(<const uint16_t*>fill_value, loop, move)
    elif itemsize == 4:
        move_kernel(<const uint32_t*>fill_value, loop, move)
    else:
        move_kernel(<const uint64_t*>fill_value, loop, move)


cdef inline reduce_t combine(reduce_t current, reduce_t value, Reduce mode) noexcept nogil:
    # Integer add/multiply go through uint64, where wrapping is defined;
    # truncating back keeps exactly the bits a wrapping op would give.
    if mode == REDUCE_ADD:
        if reduce_t is float or reduce_t is double:
            return current + value
        else:
            return <reduce_t>(<uint64_t>current + <uint64_t>value)
    if mode == REDUCE_MULTIPLY:
        if reduce_t is float or reduce_t is double:
            return current * value
        else:
            return <reduce_t>(<uint64_t>current * <uint64_t>value)
    # Like torch, a NaN on either side wins (value != value tests for NaN).
    if mode == REDUCE_AMAX:
        if reduce_t is float or reduce_t is double:
            return value if (value > current or value != value) else current
        else:
            return value if value > current else current
    if reduce_t is float or reduce_t is double:
        return value if (value < current or value != value) else current
    else:
        return value if value < current else current


cdef void reduce_kernel(reduce_t* out, StridedLoop* loop, Reduce mode, double alpha) noexcept nogil:
    """out[p + index[p] * axis_stride] (op)= alpha * src[p] over operands (index, src, out)."""
    cdef char* p[MAX_OPERANDS]
    cdef int inner = loop.ndim - 1
    cdef Py_ssize_t j, n = loop.shape[inner], axis_stride = loop.axis_stride
    cdef Py_ssize_t s0 = loop.strides[0][inner], s1 = loop.strides[1][inner]
    cdef Py_ssize_t s2 = loop.strides[2][inner]
    cdef reduce_t value, alpha_t
    cdef reduce_t* target
    cdef int64_t index
    cdef bint scaled = alpha != 1.0
    if reduce_t is float or reduce_t is double:
        alpha_t = <reduce_t>alpha
    else:
        alpha_t = <reduce_t><int64_t>alpha
    p[0], p[1], p[2] = loop.base[0], loop.base[1], <char*>out
    while True:
        for j in range(n):
            value = (<reduce_t*>(p[1] + j * s1))[0]
            if scaled:
                if reduce_t is float or reduce_t is double:
                    value = value * alpha_t
                else:
                    value = <reduce_t>(<uint64_t>value * <uint64_t>alpha_t)
            index = (<int64_t*>(p[0] + j * s0))[0]
            if <uint64_t>index < loop.index_bound:
                target = <reduce_t*>(p[2] + j * s2 + index * axis_stride)
                target[0] = combine(target[0], value, mode)
        if not loop_next(loop, p):
            return


cdef void run_reduce(DType dtype, StridedLoop* loop, Reduce mode, double alpha) noexcept nogil:
    cdef char* out = loop.base[2]
    if dtype == DT_BOOL:
        if alpha == 0.0:
            return   # index_add of alpha * src = False everywhere: or-ing it changes nothing
        # On bool bytes "or" is max and "and" is min; truthiness survives even
        # for bytes other than 0/1.
        mode = REDUCE_AMAX if mode == REDUCE_ADD else REDUCE_AMIN if mode == REDUCE_MULTIPLY else mode
        reduce_kernel(<uint8_t*>out, loop, mode, 1.0)
    elif dtype == DT_INT8:
        reduce_kernel(<int8_t*>out, loop, mode, alpha)
    elif dtype == DT_UINT8:
        reduce_kernel(<uint8_t*>out, loop, mode, alpha)
    elif dtype == DT_INT16:
        reduce_kernel(<int16_t*>out, loop, mode, alpha)
    elif dtype == DT_INT32:
        reduce_kernel(<int32_t*>out, loop, mode, alpha)
    elif dtype == DT_INT64:
        reduce_kernel(<int64_t*>out, loop, mode, alpha)
    elif dtype == DT_FLOAT32:
        reduce_kernel(<float*>out, loop, mode, alpha)
    else:
        reduce_kernel(<double*>out, loop, mode, alpha)


cdef Py_ssize_t nonzero_kernel(move_t value_bits, StridedLoop* loop, int64_t* coords) noexcept nogil:
    """Counts (coords NULL) or lists coordinates of elements with any of value_bits set.

    Coordinates come from the loop counters, so the loop must not be coalesced.
    At most loop.dest_count rows are listed, in case the data changed since
    they were counted.
    """
    cdef char* ptrs[1]
    cdef int d, inner = loop.ndim - 1
    cdef Py_ssize_t j, n = loop.shape[inner], step = loop.strides[0][inner], count = 0
    ptrs[0] = loop.base[0]
    while True:
        for j in range(n):
            if (<move_t*>(ptrs[0] + j * step))[0] & value_bits:
                if coords != NULL:
                    if count == loop.dest_count:
                        return count
                    for d in range(inner):
                        coords[d] = loop.counter[d]
                    coords[inner] = j
                    coords += loop.ndim
                count += 1
        if not loop_next(loop, ptrs):
            return count


cdef Py_ssize_t run_nonzero(Py_ssize_t itemsize, bint is_float, StridedLoop* loop,
                            int64_t* coords) noexcept nogil:
    # Floats ignore the sign bit, so -0.0 is zero while NaN and denormals are not.
    if itemsize == 1:
        return nonzero_kernel(<uint8_t>0xff, loop, coords)
    if itemsize == 2:
        return nonzero_kernel(<uint16_t>(0x7fff if is_float else 0xffff), loop, coords)
    if itemsize == 4:
        return nonzero_kernel(<uint32_t>(0x7fffffffU if is_float else 0xffffffffU), loop, coords)
    return nonzero_kernel(<uint64_t>(0x7fffffffffffffffULL if is_float else 0xffffffffffffffffULL),
                          loop, coords)


# ---------------------------------------------------------------------------
# Boundary checks (GIL held; they raise before any kernel writes)


cdef DType dtype_of(ndarray x) noexcept:
    cdef cnp.dtype descr = x.descr
    cdef char kind = descr.kind
    cdef Py_ssize_t size = cnp.PyArray_ITEMSIZE(x)
    if kind == b'b':
        return DT_BOOL
    if kind == b'u':
        return DT_UINT8 if size == 1 else DT_UNSUPPORTED
    if kind == b'i':
        return (DT_INT8 if size == 1 else DT_INT16 if size == 2 else DT_INT32 if size == 4
                else DT_INT64 if size == 8 else DT_UNSUPPORTED)
    if kind == b'f':
        return (DT_FLOAT16 if size == 2 else DT_FLOAT32 if size == 4 else DT_FLOAT64 if size == 8
                else DT_UNSUPPORTED)
    return DT_UNSUPPORTED


cdef inline tuple shape_of(ndarray x):
    return (<object>x).shape


cdef DType data_dtype(str fn, str name, ndarray x, ndarray same_as=None) except DT_UNSUPPORTED:
    """x's dtype, which must be a supported data dtype (and same_as's, if given)."""
    cdef DType dtype = dtype_of(x)
    if dtype == DT_UNSUPPORTED:
        raise TypeError(f"{fn}: {name} has unsupported dtype {(<object>x).dtype}; expected one of "
                        f"bool, int8, uint8, int16, int32, int64, float16, float32, float64")
    if same_as is not None and dtype != dtype_of(same_as):
        raise TypeError(f"{fn}: {name} dtype {(<object>x).dtype} must equal "
                        f"{(<object>same_as).dtype}")
    return dtype


cdef int require_dtype(str fn, str name, ndarray x, DType expected, str expected_name) except -1:
    if dtype_of(x) != expected:
        raise TypeError(f"{fn}: {name} must have dtype {expected_name}, got {(<object>x).dtype}")
    return 0


cdef int require_writeable(str fn, str name, ndarray x) except -1:
    if not cnp.PyArray_ISNOTSWAPPED(x):
        raise TypeError(f"{fn}: {name} dtype {(<object>x).dtype} must be in native byte order")
    if not (cnp.PyArray_ISWRITEABLE(x) and cnp.PyArray_ISALIGNED(x)):
        raise ValueError(f"{fn}: {name} must be a writeable, aligned array")
    return 0


cdef DType check_operands(str fn, str data_name, ndarray data, str other_name, ndarray other,
                          ndarray index, ndarray out) except DT_UNSUPPORTED:
    """Dtype checks shared by the indexed kernels; returns data's dtype."""
    cdef DType dtype = data_dtype(fn, data_name, data)
    data_dtype(fn, other_name, other, data)
    require_dtype(fn, "index", index, DT_INT64, "int64")
    require_writeable(fn, "out", out)
    return dtype


cdef int normalize_axis(str fn, int axis, ndarray x) except -1:
    cdef int nd = max(cnp.PyArray_NDIM(x), 1)
    if axis < -nd or axis >= nd:
        raise IndexError(f"{fn}: axis {axis} is out of range for an array of {cnp.PyArray_NDIM(x)} "
                         f"dims (expected {-nd} <= axis < {nd})")
    return axis + nd if axis < 0 else axis


cdef inline Py_ssize_t dim_size(ndarray x, int d) noexcept:
    """Size of dim d, a 0-d array counting as shape (1,) as in torch."""
    return cnp.PyArray_DIMS(x)[d] if cnp.PyArray_NDIM(x) > 0 else 1


cdef inline Py_ssize_t axis_stride_of(ndarray x, int axis) noexcept:
    return cnp.PyArray_STRIDES(x)[axis] if cnp.PyArray_NDIM(x) > 0 else 0


cdef void byte_extent(ndarray x, uintptr_t* lo, uintptr_t* hi) noexcept:
    """[lo, hi) covers every byte x can address (strides are never negative)."""
    cdef int d
    cdef Py_ssize_t last = cnp.PyArray_ITEMSIZE(x)
    for d in range(cnp.PyArray_NDIM(x)):
        last += (cnp.PyArray_DIMS(x)[d] - 1) * cnp.PyArray_STRIDES(x)[d]
    lo[0] = <uintptr_t>cnp.PyArray_DATA(x)
    hi[0] = lo[0] + <uintptr_t>last


cdef bint may_overlap(ndarray x, ndarray y) noexcept:
    cdef uintptr_t x_lo, x_hi, y_lo, y_hi
    if cnp.PyArray_SIZE(x) == 0 or cnp.PyArray_SIZE(y) == 0:
        return False
    byte_extent(x, &x_lo, &x_hi)
    byte_extent(y, &y_lo, &y_hi)
    return x_lo < y_hi and y_lo < x_hi


cdef ndarray kernel_input(ndarray x, ndarray written=None):
    """x itself when kernels can read it directly, else a private native copy.

    Unaligned and byte-swapped arrays are copied, and so are arrays sharing
    memory with the array being written, so that reads never see writes.
    """
    if cnp.PyArray_ISALIGNED(x) and cnp.PyArray_ISNOTSWAPPED(x) and (
            written is None or not may_overlap(x, written)):
        return x
    return np.array(x, dtype=(<object>x).dtype.newbyteorder("="), order="C", copy=True)


cdef int check_indices(str fn, ndarray index, int64_t bound, str what) except -1:
    cdef StridedLoop loop
    cdef int64_t bad = 0
    cdef bint found
    loop_init(&loop, index, 1)
    loop_operand(&loop, 0, index, -1)
    if loop_prepare(&loop, True) == 0:
        return 0
    with nogil:
        found = find_bad_index(&loop, bound, &bad)
    if found:
        raise IndexError(f"{fn}: index {bad} is out of range for {what} of size {bound} "
                         f"(expected 0 <= index < {bound})")
    return 0


cdef int run_move_loop(StridedLoop* loop, Move move, Py_ssize_t itemsize,
                       const char* fill_value=NULL) except -1:
    """Coalesces the loop and runs a move kernel on it without the GIL."""
    if loop_prepare(loop, True) == 0:
        return 0
    with nogil:
        run_move(loop, move, itemsize, fill_value)
    return 0


cdef int gather_along(str fn, ndarray a, int ax, ndarray index, ndarray out,
                      bint index_is_vector) except -1:
    """index_select/gather once shapes are checked: out[p] = a[p with dim ax = index]."""
    cdef StridedLoop loop
    a = kernel_input(a, out)
    index = kernel_input(index, out)
    check_indices(fn, index, dim_size(a, ax), f"dim {ax}")
    loop_init(&loop, out, 3)
    loop_operand(&loop, 0, out, -1)
    if index_is_vector:
        loop_index_along(&loop, 1, index, ax)
    else:
        loop_operand(&loop, 1, index, -1)
    loop_operand(&loop, 2, a, ax)
    loop.axis_stride = axis_stride_of(a, ax)
    loop.index_bound = dim_size(a, ax)
    return run_move_loop(&loop, MOVE_GATHER, cnp.PyArray_ITEMSIZE(a))


cdef int scatter_along(str fn, ndarray out, int ax, ndarray index, ndarray src,
                       bint index_is_vector, DType dtype, Reduce mode, double alpha) except -1:
    """scatter/index_add once shapes are checked: out[p with dim ax = index] (op)= src[p].

    The loop runs over index's shape (scatter) or src's (index_add, whose
    1-D index runs along ax).
    """
    cdef StridedLoop loop
    index = kernel_input(index, out)
    src = kernel_input(src, out)
    check_indices(fn, index, dim_size(out, ax), f"dim {ax}")
    loop_init(&loop, src if index_is_vector else index, 3)
    if index_is_vector:
        loop_index_along(&loop, 0, index, ax)
    else:
        loop_operand(&loop, 0, index, -1)
    loop_operand(&loop, 1, src, -1)
    loop_operand(&loop, 2, out, ax)
    loop.axis_stride = axis_stride_of(out, ax)
    loop.index_bound = dim_size(out, ax)
    if mode == REDUCE_NONE:
        return run_move_loop(&loop, MOVE_SCATTER, cnp.PyArray_ITEMSIZE(out))
    if loop_prepare(&loop, True) > 0:
        with nogil:
            run_reduce(dtype, &loop, mode, alpha)
    return 0


# ---------------------------------------------------------------------------
# Public API


def index_select(ndarray a not None, int axis, ndarray index not None, ndarray out not None):
    """torch.index_select: out = a with dim `axis` picked by the 1-D int64 `index`.

    out.shape must be a.shape with dim `axis` replaced by len(index).
    """
    cdef str fn = "index_select"
    cdef int ax
    check_operands(fn, "a", a, "out", out, index, out)
    ax = normalize_axis(fn, axis, a)
    if cnp.PyArray_NDIM(index) > 1:
        raise ValueError(f"{fn}: index must be 1-D, got shape {shape_of(index)}")
    n_index = cnp.PyArray_SIZE(index)
    expected = list(shape_of(a))
    if expected:
        expected[ax] = n_index
    elif n_index != 1:
        raise ValueError(f"{fn}: a 0-d input takes exactly one index, got {n_index}")
    if tuple(expected) != shape_of(out):
        raise ValueError(f"{fn}: out shape {shape_of(out)} does not match {tuple(expected)} "
                         f"(a shape {shape_of(a)} with dim {ax} replaced by len(index) = {n_index})")
    gather_along(fn, a, ax, index, out, True)


def gather(ndarray a not None, int axis, ndarray index not None, ndarray out not None):
    """torch.gather: out[i][j] = a[index[i][j]][j] (axis 0); out.shape == index.shape.

    index has a's number of dims and index.size(d) <= a.size(d) for d != axis.
    """
    cdef str fn = "gather"
    cdef int ax, d, nd
    check_operands(fn, "a", a, "out", out, index, out)
    ax = normalize_axis(fn, axis, a)
    nd = max(cnp.PyArray_NDIM(a), 1)
    if max(cnp.PyArray_NDIM(index), 1) != nd:
        raise ValueError(f"{fn}: index must have as many dims as a; got index {shape_of(index)}, "
                         f"a {shape_of(a)}")
    for d in range(nd):
        if d != ax and dim_size(index, d) > dim_size(a, d):
            raise ValueError(f"{fn}: index shape {shape_of(index)} exceeds a shape {shape_of(a)} "
                             f"at dim {d} (expected index.size(d) <= a.size(d) for d != {ax})")
    if shape_of(out) != shape_of(index):
        raise ValueError(f"{fn}: out shape {shape_of(out)} must equal index shape {shape_of(index)}")
    gather_along(fn, a, ax, index, out, False)


_REDUCE_MODES = {"none": REDUCE_NONE, "add": REDUCE_ADD, "multiply": REDUCE_MULTIPLY,
                "amax": REDUCE_AMAX, "amin": REDUCE_AMIN}


def scatter(ndarray out not None, int axis, ndarray index not None, ndarray src not None,
            str reduce="none"):
    """torch.Tensor.scatter_ in place: out[index[i][j]][j] (op)= src[i][j] (axis 0).

    reduce is "none" (assign), "add", "multiply", "amax" or "amin".  One
    serial pass in C order over index, so repeated indices give
    deterministic results ("none": the last one wins).  index.size(d) <=
    src.size(d) for all d and <= out.size(d) for d != axis.  float16 only
    supports "none".
    """
    cdef str fn = "scatter"
    cdef int ax, d, nd
    cdef DType dtype = data_dtype(fn, "out", out)
    if reduce not in _REDUCE_MODES:
        raise ValueError(f"{fn}: reduce must be one of 'none', 'add', 'multiply', 'amax', 'amin'; "
                         f"got {reduce!r}")
    cdef Reduce mode = _REDUCE_MODES[reduce]
    check_operands(fn, "out", out, "src", src, index, out)
    if mode != REDUCE_NONE and dtype == DT_FLOAT16:
        raise TypeError(f"{fn}: reduce={reduce!r} is not supported for float16 (upcast first)")
    ax = normalize_axis(fn, axis, out)
    nd = max(cnp.PyArray_NDIM(out), 1)
    if max(cnp.PyArray_NDIM(index), 1) != nd or max(cnp.PyArray_NDIM(src), 1) != nd:
        raise ValueError(f"{fn}: out, index and src must have the same number of dims; got out "
                         f"{shape_of(out)}, index {shape_of(index)}, src {shape_of(src)}")
    if cnp.PyArray_SIZE(index) == 0:
        return
    for d in range(nd):
        if dim_size(index, d) > dim_size(src, d) or (d != ax and dim_size(index, d) > dim_size(out, d)):
            raise ValueError(
                f"{fn}: index shape {shape_of(index)} does not fit at dim {d}: expected "
                f"index.size(d) <= src.size(d) (src {shape_of(src)}) and, for d != {ax}, "
                f"index.size(d) <= out.size(d) (out {shape_of(out)})")
    scatter_along(fn, out, ax, index, src, False, dtype, mode, 1.0)


def index_add(ndarray out not None, int axis, ndarray index not None, ndarray src not None,
              double alpha=1.0):
    """torch.Tensor.index_add_ in place: out[..., index[j], ...] += alpha * src[..., j, ...].

    src is out's shape with dim `axis` of size len(index).  Deterministic:
    each element accumulates in increasing j.  Integer dtypes wrap and need
    an integral alpha; bool ors (alpha 0 or 1); float16 is not supported.
    """
    cdef str fn = "index_add"
    cdef int ax, d, nd
    cdef DType dtype = check_operands(fn, "out", out, "src", src, index, out)
    if dtype == DT_FLOAT16:
        raise TypeError(f"{fn}: float16 is not supported (upcast first)")
    if dtype != DT_FLOAT32 and dtype != DT_FLOAT64 and (
            alpha != floor(alpha) or not (-9.2233720368547758e18 <= alpha < 9.2233720368547758e18)
            or (dtype == DT_BOOL and alpha != 0.0 and alpha != 1.0)):
        raise TypeError(f"{fn}: alpha {alpha!r} is not a valid {(<object>out).dtype} value "
                        f"(integer dtypes need an integral alpha, bool needs 0 or 1)")
    ax = normalize_axis(fn, axis, out)
    if cnp.PyArray_NDIM(index) > 1:
        raise ValueError(f"{fn}: index must be 1-D, got shape {shape_of(index)}")
    nd = max(cnp.PyArray_NDIM(out), 1)
    n_index = cnp.PyArray_SIZE(index)
    shapes_ok = max(cnp.PyArray_NDIM(src), 1) == nd
    for d in range(nd if shapes_ok else 0):
        if dim_size(src, d) != (n_index if d == ax else dim_size(out, d)):
            shapes_ok = False
    if not shapes_ok:
        raise ValueError(f"{fn}: src shape {shape_of(src)} must be out shape {shape_of(out)} with "
                         f"dim {ax} replaced by len(index) = {n_index}")
    scatter_along(fn, out, ax, index, src, True, dtype, REDUCE_ADD, alpha)


def take(ndarray a not None, ndarray index not None, ndarray out not None):
    """torch.take: out = a.flatten()[index] (C order whatever a's strides); out.shape == index.shape."""
    cdef str fn = "take"
    cdef StridedLoop loop, src_layout
    check_operands(fn, "a", a, "out", out, index, out)
    if shape_of(out) != shape_of(index):
        raise ValueError(f"{fn}: out shape {shape_of(out)} must equal index shape {shape_of(index)}")
    a = kernel_input(a, out)
    index = kernel_input(index, out)
    check_indices(fn, index, cnp.PyArray_SIZE(a), "the flattened input")
    if not cnp.PyArray_IS_C_CONTIGUOUS(a) and cnp.PyArray_SIZE(index) >= cnp.PyArray_SIZE(a) // 8:
        # Many lookups: one contiguous copy is cheaper than unravelling each.
        a = np.ascontiguousarray(a)
    loop_init(&loop, index, 3)
    loop_operand(&loop, 0, out, -1)
    loop_operand(&loop, 1, index, -1)
    loop.index_bound = cnp.PyArray_SIZE(a)
    if cnp.PyArray_IS_C_CONTIGUOUS(a):
        # A gather along one flat axis: operand 2 never moves.
        loop.base[2] = <char*>cnp.PyArray_DATA(a)
        loop.axis_stride = cnp.PyArray_ITEMSIZE(a)
        run_move_loop(&loop, MOVE_GATHER, cnp.PyArray_ITEMSIZE(a))
        return
    loop.nops = 2
    loop_init(&src_layout, a, 1)
    loop_operand(&src_layout, 0, a, -1)
    loop_prepare(&src_layout, True)   # fewer dims make unravelling cheaper
    loop.src = <char*>cnp.PyArray_DATA(a)
    loop.src_layout = &src_layout
    run_move_loop(&loop, MOVE_TAKE_STRIDED, cnp.PyArray_ITEMSIZE(a))


def masked_select(ndarray a not None, ndarray mask not None):
    """torch.masked_select with mask.shape == a.shape: a new 1-D array of a[mask] in C order."""
    cdef str fn = "masked_select"
    cdef StridedLoop loop
    cdef Py_ssize_t count = 0
    data_dtype(fn, "a", a)
    require_dtype(fn, "mask", mask, DT_BOOL, "bool")
    if shape_of(mask) != shape_of(a):
        raise ValueError(f"{fn}: mask shape {shape_of(mask)} must equal a shape {shape_of(a)}")
    a = kernel_input(a)
    # A bool byte is 0 or not: counting set mask bytes is nonzero() on uint8.
    loop_init(&loop, mask, 1)
    loop_operand(&loop, 0, mask, -1)
    if loop_prepare(&loop, True) > 0:
        with nogil:
            count = run_nonzero(1, False, &loop, NULL)
    result = np.empty(count, dtype=(<object>a).dtype)
    if count == 0:
        return result
    loop_init(&loop, a, 2)
    loop_operand(&loop, 0, a, -1)
    loop_operand(&loop, 1, mask, -1)
    loop.dest = <char*>cnp.PyArray_DATA(result)
    loop.dest_count = count
    run_move_loop(&loop, MOVE_MASKED_SELECT, cnp.PyArray_ITEMSIZE(a))
    return result


def nonzero(ndarray a not None):
    """torch.nonzero: int64 array (n, a.ndim) of the coordinates of non-zero elements, C order."""
    cdef str fn = "nonzero"
    cdef StridedLoop loop
    cdef Py_ssize_t count = 0, itemsize = cnp.PyArray_ITEMSIZE(a)
    cdef DType dtype = data_dtype(fn, "a", a)
    cdef bint is_float = dtype == DT_FLOAT16 or dtype == DT_FLOAT32 or dtype == DT_FLOAT64
    cdef int64_t* coords
    a = kernel_input(a)
    loop_init(&loop, a, 1)
    loop_operand(&loop, 0, a, -1)
    if loop_prepare(&loop, True) > 0:
        with nogil:
            count = run_nonzero(itemsize, is_float, &loop, NULL)
    result = np.empty((count, cnp.PyArray_NDIM(a)), dtype=np.int64)
    if count == 0 or cnp.PyArray_NDIM(a) == 0:
        return result
    loop_init(&loop, a, 1)
    loop_operand(&loop, 0, a, -1)
    loop_prepare(&loop, False)   # coordinates need the real dims
    loop.dest_count = count
    coords = <int64_t*>cnp.PyArray_DATA(result)
    with nogil:
        run_nonzero(itemsize, is_float, &loop, coords)
    return result


def masked_fill(ndarray a not None, ndarray mask not None, ndarray value_array not None):
    """torch.Tensor.masked_fill_ in place: a[mask] = value_array.

    mask is bool and broadcastable to a (not the reverse); value_array is a
    0-d array of a's dtype.
    """
    cdef str fn = "masked_fill"
    cdef StridedLoop loop
    cdef int d, lead = cnp.PyArray_NDIM(a) - cnp.PyArray_NDIM(mask)
    data_dtype(fn, "a", a)
    require_dtype(fn, "mask", mask, DT_BOOL, "bool")
    data_dtype(fn, "value_array", value_array, a)
    if cnp.PyArray_NDIM(value_array) != 0:
        raise ValueError(f"{fn}: value_array must be 0-d, got shape {shape_of(value_array)}")
    require_writeable(fn, "a", a)
    broadcastable = lead >= 0
    for d in range(cnp.PyArray_NDIM(mask) if broadcastable else 0):
        if cnp.PyArray_DIMS(mask)[d] not in (1, cnp.PyArray_DIMS(a)[lead + d]):
            broadcastable = False
    if not broadcastable:
        raise ValueError(f"{fn}: mask shape {shape_of(mask)} does not broadcast to a shape {shape_of(a)}")
    mask = kernel_input(mask, a)
    value_array = kernel_input(value_array, a)
    loop_init(&loop, a, 2)
    loop_operand(&loop, 0, a, -1)
    loop.base[1] = <char*>cnp.PyArray_DATA(mask)
    for d in range(cnp.PyArray_NDIM(mask)):
        if cnp.PyArray_DIMS(mask)[d] != 1:
            loop.strides[1][lead + d] = cnp.PyArray_STRIDES(mask)[d]
    run_move_loop(&loop, MOVE_MASKED_FILL, cnp.PyArray_ITEMSIZE(a),
                  <const char*>cnp.PyArray_DATA(value_array))
