"""Matrix multiplication for CPU tensors.

Floating-point products go to the OpenBLAS that scipy ships, through
``scipy.linalg.cython_blas``.  numpy arrays are row-major and BLAS is
column-major, so ``out = a @ b`` is computed as ``out^T = b^T a^T``: a
row-major matrix read column-major *is* its transpose, which means a
row-contiguous operand is passed with ``'N'`` and a transposed view with
``'T'``, and no operand is copied unless its strides fit neither form.

Integer and bool products, tiny float products (where BLAS call overhead
dominates) and products too large for BLAS's 32-bit ``int`` arguments use a
portable blocked C loop instead.
"""
cimport numpy as cnp
from cython.parallel cimport prange
from libc.limits cimport INT_MAX
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, uintptr_t
from libc.string cimport memcpy, memset
from numpy cimport ndarray
from neurarust._core.config cimport nr_blas_split_threads
from neurarust._core.parallel_blas cimport blas_real, gemm_rm, gemv_cm

import numpy as np

cnp.import_array()

__all__ = ["linear", "matmul"]


cdef enum DType:
    DT_UNSUPPORTED
    DT_BOOL
    DT_INT8
    DT_UINT8
    DT_INT16
    DT_INT32
    DT_INT64
    DT_FLOAT32
    DT_FLOAT64


cdef enum Kernel:
    # Signed and unsigned integers of one width share a kernel: wrapping
    # multiply-add is the same bit operation for both in two's complement.
    KERNEL_BOOL
    KERNEL_WRAP8
    KERNEL_WRAP16
    KERNEL_WRAP32
    KERNEL_WRAP64
    KERNEL_LOOP_FLOAT32
    KERNEL_LOOP_FLOAT64
    KERNEL_BLAS_FLOAT32
    KERNEL_BLAS_FLOAT64


cdef enum:
    MAX_DIMS = 64
    # Below this many multiply-adds per matrix the C loop beats the fixed
    # cost of entering OpenBLAS (measured on Zen 5 with Haswell kernels).
    LOOP_BEATS_BLAS_MACS = 32
    # Releasing and re-taking the GIL costs about 100 ns: only worth it when
    # the product itself takes clearly longer than that.
    RELEASE_GIL_MACS = 4096
    # Splitting a batch of loop-kernel products across OpenMP threads pays
    # for the thread wake-up only with enough total work.
    PARALLEL_BATCH_MACS = 1 << 18
    # Cache blocking of the C loop: a K_BLOCK x N_BLOCK panel of b stays in L1/L2.
    K_BLOCK = 128
    N_BLOCK = 512
    # Bool products test for an early exit once per this many k.
    BOOL_CHUNK = 64
    # Above this many multiply-adds the C loop gets operands with contiguous
    # inner loops, copying them if needed: strided inner loops are ~10x slower.
    LOOP_COPY_MACS = 4096


ctypedef fused loop_scalar_t:
    float
    double
    uint8_t
    uint16_t
    uint32_t
    uint64_t


cdef struct MatmulPlan:
    Kernel kernel
    Py_ssize_t itemsize
    Py_ssize_t m, n, k
    # Strides in bytes of the last two dims of a and b (size-1 dims normalised).
    Py_ssize_t a_row_stride, a_col_stride, b_row_stride, b_col_stride
    char* a_data
    char* b_data
    char* out_data
    int batch_ndim
    Py_ssize_t batch_count
    Py_ssize_t batch_shape[MAX_DIMS]
    Py_ssize_t a_batch_strides[MAX_DIMS]
    Py_ssize_t b_batch_strides[MAX_DIMS]
    # BLAS arguments, in the column-major out^T = b^T a^T formulation.
    int blas_m, blas_n, blas_k
    char trans_a, trans_b
    int lda, ldb, ldc
    bint use_gemv
    # out += a @ b instead of out = a @ b (BLAS beta = 1; the loop skips its memset).
    bint accumulate
    bint gemv_matrix_is_a
    char gemv_trans
    int gemv_rows, gemv_cols, gemv_ld, gemv_x_inc


cdef inline DType dtype_of(ndarray x) noexcept:
    cdef cnp.dtype descr = x.descr
    cdef char kind = descr.kind
    cdef Py_ssize_t size = cnp.PyArray_ITEMSIZE(x)
    if kind == b'f':
        if size == 4:
            return DT_FLOAT32
        if size == 8:
            return DT_FLOAT64
    elif kind == b'i':
        if size == 1:
            return DT_INT8
        if size == 2:
            return DT_INT16
        if size == 4:
            return DT_INT32
        if size == 8:
            return DT_INT64
    elif kind == b'u':
        if size == 1:
            return DT_UINT8
    elif kind == b'b':
        return DT_BOOL
    return DT_UNSUPPORTED


cdef inline Kernel loop_kernel_for(DType dtype) noexcept:
    if dtype == DT_BOOL:
        return KERNEL_BOOL
    if dtype == DT_INT8 or dtype == DT_UINT8:
        return KERNEL_WRAP8
    if dtype == DT_INT16:
        return KERNEL_WRAP16
    if dtype == DT_INT32:
        return KERNEL_WRAP32
    if dtype == DT_INT64:
        return KERNEL_WRAP64
    if dtype == DT_FLOAT32:
        return KERNEL_LOOP_FLOAT32
    return KERNEL_LOOP_FLOAT64


cdef inline bint usable_without_copy(ndarray x) noexcept:
    return cnp.PyArray_ISALIGNED(x) and cnp.PyArray_ISNOTSWAPPED(x)


cdef inline void byte_extent(ndarray x, uintptr_t* lo, uintptr_t* hi) noexcept:
    """[lo, hi) covers every byte x can address (strides are never negative)."""
    cdef int d
    cdef Py_ssize_t last = 0
    cdef cnp.npy_intp* dims = cnp.PyArray_DIMS(x)
    cdef cnp.npy_intp* strides = cnp.PyArray_STRIDES(x)
    for d in range(cnp.PyArray_NDIM(x)):
        last += (dims[d] - 1) * strides[d]
    lo[0] = <uintptr_t>cnp.PyArray_DATA(x)
    hi[0] = lo[0] + <uintptr_t>(last + cnp.PyArray_ITEMSIZE(x))


cdef inline bint may_overlap(ndarray x, ndarray y) noexcept:
    cdef uintptr_t x_lo, x_hi, y_lo, y_hi
    byte_extent(x, &x_lo, &x_hi)
    byte_extent(y, &y_lo, &y_hi)
    return x_lo < y_hi and y_lo < x_hi


cdef bint blas_layout(Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t* row_stride,
                      Py_ssize_t* col_stride, Py_ssize_t itemsize,
                      bint* row_major, int* ld) noexcept:
    """Whether a rows x cols matrix with these byte strides can go to BLAS as is.

    On success the strides are normalised (the stride of a size-1 dim never
    reaches an address, so it is set to whatever BLAS accepts), ``row_major``
    tells whether the column stride is one element, and ``ld`` is the
    leading dimension in elements.
    """
    cdef Py_ssize_t rs = row_stride[0], cs = col_stride[0]
    if cols == 1:
        cs = itemsize
    if rows == 1:
        rs = itemsize * cols if cs == itemsize else itemsize
    if rs % itemsize != 0 or cs % itemsize != 0:
        return False
    row_stride[0] = rs
    col_stride[0] = cs
    rs //= itemsize
    cs //= itemsize
    if cs == 1 and rs >= max(1, cols) and rs <= INT_MAX:
        row_major[0] = True
        ld[0] = <int>rs
        return True
    if rs == 1 and cs >= max(1, rows) and cs <= INT_MAX:
        row_major[0] = False
        ld[0] = <int>cs
        return True
    return False


cdef inline tuple shape_of(ndarray x):
    return (<object>x).shape


cdef bint fits_blas(ndarray x, Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t itemsize) noexcept:
    cdef int nd = cnp.PyArray_NDIM(x)
    cdef Py_ssize_t row_stride = cnp.PyArray_STRIDES(x)[nd - 2]
    cdef Py_ssize_t col_stride = cnp.PyArray_STRIDES(x)[nd - 1]
    cdef bint row_major
    cdef int ld
    return blas_layout(rows, cols, &row_stride, &col_stride, itemsize, &row_major, &ld)


cdef ndarray contiguous_matrices(ndarray x, bint column_major=False):
    """A native-endian copy of x whose matrices are C- (or F-) contiguous.

    Batch dims broadcast with stride 0 stay broadcast: materialising them
    could multiply the memory used by the batch size.
    """
    cdef int d
    cdef object array = x
    selector = []
    for d in range(cnp.PyArray_NDIM(x) - 2):
        selector.append(slice(0, 1) if cnp.PyArray_STRIDES(x)[d] == 0 else slice(None))
    selector.append(Ellipsis)
    compact = array[tuple(selector)]
    if column_major:
        compact = np.swapaxes(compact, -1, -2)
    compact = np.ascontiguousarray(compact, dtype=array.dtype.newbyteorder("="))
    if column_major:
        compact = np.swapaxes(compact, -1, -2)
    return np.broadcast_to(compact, array.shape)


cdef void loop_matmul_one(loop_scalar_t* out, const char* a, const char* b,
                          const MatmulPlan* p) noexcept nogil:
    """out (m x n, C-contiguous) = a @ b with any element-aligned byte strides.

    Integer kernels run on unsigned types so that overflow wraps (signed
    overflow is undefined in C); the low bits are the same either way.
    """
    cdef Py_ssize_t m = p.m, n = p.n, k = p.k
    cdef Py_ssize_t i, j, kk, k_start, k_stop, j_start, j_stop
    cdef Py_ssize_t b_col_stride = p.b_col_stride
    cdef loop_scalar_t a_ik
    cdef loop_scalar_t* out_row
    cdef const loop_scalar_t* b_row
    cdef const char* b_row_bytes
    if not p.accumulate:
        memset(out, 0, m * n * sizeof(loop_scalar_t))
    k_start = 0
    while k_start < k:
        k_stop = min(k, k_start + K_BLOCK)
        j_start = 0
        while j_start < n:
            j_stop = min(n, j_start + N_BLOCK)
            for i in range(m):
                out_row = out + i * n
                for kk in range(k_start, k_stop):
                    a_ik = (<const loop_scalar_t*>(a + i * p.a_row_stride + kk * p.a_col_stride))[0]
                    if loop_scalar_t is not float and loop_scalar_t is not double:
                        # Skipping is only exact for integers: 0 * nan must stay nan.
                        if a_ik == 0:
                            continue
                    b_row_bytes = b + kk * p.b_row_stride
                    if b_col_stride == sizeof(loop_scalar_t):
                        b_row = <const loop_scalar_t*>b_row_bytes
                        for j in range(j_start, j_stop):
                            if loop_scalar_t is uint8_t or loop_scalar_t is uint16_t:
                                # The narrow types promote to int, whose product can overflow.
                                out_row[j] = <loop_scalar_t>(out_row[j] + <unsigned int>a_ik * b_row[j])
                            else:
                                out_row[j] += a_ik * b_row[j]
                    else:
                        for j in range(j_start, j_stop):
                            if loop_scalar_t is uint8_t or loop_scalar_t is uint16_t:
                                out_row[j] = <loop_scalar_t>(
                                    out_row[j] + <unsigned int>a_ik
                                    * (<const loop_scalar_t*>(b_row_bytes + j * b_col_stride))[0])
                            else:
                                out_row[j] += a_ik * (<const loop_scalar_t*>(b_row_bytes + j * b_col_stride))[0]

            j_start = j_stop
        k_start = k_stop

cdef void bool_matmul_one(uint8_t* out, const char* a, const char* b,
                          const MatmulPlan* p) noexcept nogil:
    """Boolean product: out[i, j] = any(a[i, k] and b[k, j]), stored as 0/1.

    Walks k innermost and stops at the first hit, checked once per chunk so
    the chunk loop stays vectorisable; fastest when a's rows and b's columns
    are contiguous (the caller arranges that for large products).
    """
    cdef Py_ssize_t i, j, kk, k_start, k_stop
    cdef Py_ssize_t a_step = p.a_col_stride, b_step = p.b_row_stride
    cdef const uint8_t* a_row
    cdef const uint8_t* b_col
    cdef uint8_t hit
    for i in range(p.m):
        a_row = <const uint8_t*>(a + i * p.a_row_stride)
        for j in range(p.n):
            b_col = <const uint8_t*>(b + j * p.b_col_stride)
            hit = 0
            k_start = 0
            while k_start < p.k and not hit:
                k_stop = min(p.k, k_start + BOOL_CHUNK)
                if a_step == 1 and b_step == 1:
                    for kk in range(k_start, k_stop):
                        hit |= (a_row[kk] != 0) & (b_col[kk] != 0)
                else:
                    for kk in range(k_start, k_stop):
                        hit |= (a_row[kk * a_step] != 0) & (b_col[kk * b_step] != 0)
                k_start = k_stop
            out[i * p.n + j] = hit


cdef inline void blas_matmul_one(blas_real* out, char* a, char* b, MatmulPlan* p) noexcept nogil:
    cdef blas_real one = 1.0
    cdef blas_real beta = 1.0 if p.accumulate else 0.0
    if p.use_gemv:
        # Zeroed first: some OpenBLAS versions scale y by beta = 0 as a
        # multiplication, which keeps NaN/inf garbage from np.empty.
        if not p.accumulate:
            memset(out, 0, p.m * p.n * sizeof(blas_real))
        if p.gemv_matrix_is_a:
            gemv_cm(p.gemv_trans, p.gemv_rows, p.gemv_cols, one, <blas_real*>a, p.gemv_ld,
                    <blas_real*>b, p.gemv_x_inc, beta, out)
        else:
            gemv_cm(p.gemv_trans, p.gemv_rows, p.gemv_cols, one, <blas_real*>b, p.gemv_ld,
                    <blas_real*>a, p.gemv_x_inc, beta, out)
    else:
        gemm_rm(p.trans_a == b'T', p.trans_b == b'T', p.blas_m, p.blas_n, p.blas_k, one,
                <blas_real*>a, p.lda, <blas_real*>b, p.ldb, beta, out, p.ldc)


cdef inline void matmul_one(MatmulPlan* p, char* a, char* b, char* out) noexcept nogil:
    cdef Kernel kernel = p.kernel
    if kernel == KERNEL_BLAS_FLOAT32:
        blas_matmul_one(<float*>out, a, b, p)
    elif kernel == KERNEL_BLAS_FLOAT64:
        blas_matmul_one(<double*>out, a, b, p)
    elif kernel == KERNEL_LOOP_FLOAT32:
        loop_matmul_one(<float*>out, a, b, p)
    elif kernel == KERNEL_LOOP_FLOAT64:
        loop_matmul_one(<double*>out, a, b, p)
    elif kernel == KERNEL_WRAP8:
        loop_matmul_one(<uint8_t*>out, a, b, p)
    elif kernel == KERNEL_WRAP16:
        loop_matmul_one(<uint16_t*>out, a, b, p)
    elif kernel == KERNEL_WRAP32:
        loop_matmul_one(<uint32_t*>out, a, b, p)
    elif kernel == KERNEL_WRAP64:
        loop_matmul_one(<uint64_t*>out, a, b, p)
    else:
        bool_matmul_one(<uint8_t*>out, a, b, p)


cdef void run_batch_item(MatmulPlan* p, Py_ssize_t item) noexcept nogil:
    """One product of the batch, found by unravelling its flat index."""
    cdef int d
    cdef Py_ssize_t rest = item, coord
    cdef char* a = p.a_data
    cdef char* b = p.b_data
    for d in range(p.batch_ndim - 1, -1, -1):
        coord = rest % p.batch_shape[d]
        rest = rest // p.batch_shape[d]
        a += coord * p.a_batch_strides[d]
        b += coord * p.b_batch_strides[d]
    matmul_one(p, a, b, p.out_data + item * p.m * p.n * p.itemsize)


cdef void run_batch(MatmulPlan* p, bint parallel) noexcept nogil:
    cdef Py_ssize_t item
    cdef Py_ssize_t counter[MAX_DIMS]
    cdef char* a = p.a_data
    cdef char* b = p.b_data
    cdef char* out = p.out_data
    cdef Py_ssize_t out_step = p.m * p.n * p.itemsize
    cdef int d
    if parallel:
        for item in prange(p.batch_count, schedule="static"):
            run_batch_item(p, item)
        return
    memset(counter, 0, sizeof(counter))
    for item in range(p.batch_count):
        matmul_one(p, a, b, out)
        out += out_step
        # Odometer step over the batch dims: O(1) amortised per item.
        d = p.batch_ndim - 1
        while d >= 0:
            counter[d] += 1
            a += p.a_batch_strides[d]
            b += p.b_batch_strides[d]
            if counter[d] < p.batch_shape[d]:
                break
            a -= p.a_batch_strides[d] * p.batch_shape[d]
            b -= p.b_batch_strides[d] * p.batch_shape[d]
            counter[d] = 0
            d -= 1


cdef bint plan_blas(MatmulPlan* p, ndarray a, ndarray b) noexcept:
    """Fills the BLAS arguments; False when an operand must be copied first."""
    cdef int nd = cnp.PyArray_NDIM(a)
    cdef bint a_row_major, b_row_major
    cdef int lda, ldb
    p.a_row_stride = cnp.PyArray_STRIDES(a)[nd - 2]
    p.a_col_stride = cnp.PyArray_STRIDES(a)[nd - 1]
    p.b_row_stride = cnp.PyArray_STRIDES(b)[nd - 2]
    p.b_col_stride = cnp.PyArray_STRIDES(b)[nd - 1]
    if not blas_layout(p.m, p.k, &p.a_row_stride, &p.a_col_stride, p.itemsize, &a_row_major, &lda):
        return False
    if not blas_layout(p.k, p.n, &p.b_row_stride, &p.b_col_stride, p.itemsize, &b_row_major, &ldb):
        return False
    p.blas_m = <int>p.m
    p.blas_n = <int>p.n
    p.blas_k = <int>p.k
    p.ldc = <int>max(1, p.n)
    # A row-major operand read column-major is already the transpose we need.
    p.trans_a = b'N' if a_row_major else b'T'
    p.trans_b = b'N' if b_row_major else b'T'
    p.lda = lda
    p.ldb = ldb
    p.use_gemv = False
    if p.n == 1:
        # out (m) = a (m x k) . x, x = the single column of b.
        p.use_gemv = True
        p.gemv_matrix_is_a = True
        p.gemv_x_inc = <int>(p.b_row_stride // p.itemsize)
        p.gemv_ld = lda
        if a_row_major:
            p.gemv_trans, p.gemv_rows, p.gemv_cols = b'T', <int>p.k, <int>p.m
        else:
            p.gemv_trans, p.gemv_rows, p.gemv_cols = b'N', <int>p.m, <int>p.k
    elif p.m == 1:
        # out (n) = b^T (n x k) . x, x = the single row of a.
        p.use_gemv = True
        p.gemv_matrix_is_a = False
        p.gemv_x_inc = <int>(p.a_col_stride // p.itemsize)
        p.gemv_ld = ldb
        if b_row_major:
            p.gemv_trans, p.gemv_rows, p.gemv_cols = b'N', <int>p.n, <int>p.k
        else:
            p.gemv_trans, p.gemv_rows, p.gemv_cols = b'T', <int>p.k, <int>p.n
    if p.use_gemv and (p.gemv_x_inc < 1 or p.gemv_x_inc > INT_MAX):
        p.use_gemv = False
    return True


def matmul(ndarray a not None, ndarray b not None, ndarray out not None):
    """out[..., :, :] = a[..., :, :] @ b[..., :, :].

    a is (..., M, K), b is (..., K, N), out is C-contiguous (..., M, N); the
    batch dims are identical in all three (stride 0 allowed in a and b).
    Supported dtypes (all three equal): float32, float64, int8, int16,
    int32, int64, uint8, bool.  Integer products wrap; bool is or-of-ands.
    """
    _matmul(a, b, out, False)


def linear(ndarray x not None, ndarray w not None, object bias, ndarray out not None):
    """out = x @ w.T + bias in one BLAS call (bias copied into out, then GEMM with beta = 1).

    x is (M, K), w is (N, K) (any strides), bias is None or a contiguous (N,)
    array, out is a C-contiguous (M, N) array; all float32 or all float64.

    Example:
        >>> import numpy as np
        >>> from neurarust._core import linalg
        >>> out = np.empty((1, 2), np.float32)
        >>> linalg.linear(np.ones((1, 3), np.float32), np.ones((2, 3), np.float32),
        ...               np.array([0.5, 1.0], np.float32), out)
        >>> out.tolist()
        [[3.5, 4.0]]
    """
    cdef DType dtype = dtype_of(x)
    cdef Py_ssize_t i, m, n, row_bytes
    cdef char* dst
    cdef char* src
    if x.ndim != 2 or w.ndim != 2 or out.ndim != 2:
        raise ValueError(f"linear: expected 2-D x, w and out; got {shape_of(x)}, {shape_of(w)}, "
                         f"{shape_of(out)}")
    if dtype != DT_FLOAT32 and dtype != DT_FLOAT64:
        raise TypeError(f"linear: x must be float32 or float64, got {x.dtype}")
    if bias is None:
        _matmul(x, w.T, out, False)
        return
    cdef ndarray bv = <ndarray?>bias
    m, n = x.shape[0], w.shape[0]
    if (bv.ndim != 1 or bv.shape[0] != n or dtype_of(bv) != dtype or not bv.flags.c_contiguous
            or not cnp.PyArray_ISNOTSWAPPED(bv)):
        raise ValueError(f"linear: bias must be a contiguous ({n},) array of dtype {x.dtype}")
    if (shape_of(out) != (m, n) or dtype_of(out) != dtype or not cnp.PyArray_IS_C_CONTIGUOUS(out)
            or not cnp.PyArray_ISWRITEABLE(out)):
        raise ValueError(f"linear: out must be a writeable C-contiguous ({m}, {n}) array of dtype "
                         f"{x.dtype}; got {shape_of(out)} {out.dtype}")
    if may_overlap(out, bv):
        bv = bv.copy()
    row_bytes = n * cnp.PyArray_ITEMSIZE(x)
    dst = <char*>cnp.PyArray_DATA(out)
    src = <char*>cnp.PyArray_DATA(bv)
    for i in range(m):
        memcpy(dst + i * row_bytes, src, row_bytes)
    _matmul(x, w.T, out, True)


cdef _matmul(ndarray a, ndarray b, ndarray out, bint accumulate):
    """See :func:`matmul`; ``accumulate`` (float dtypes only) adds the product to out."""
    cdef int nd = cnp.PyArray_NDIM(a)
    cdef int d
    cdef DType dtype = dtype_of(a)
    cdef cnp.npy_intp* a_dims = cnp.PyArray_DIMS(a)
    cdef cnp.npy_intp* b_dims
    cdef cnp.npy_intp* out_dims
    cdef MatmulPlan plan
    cdef double macs   # a double cannot overflow, even for absurd broadcast shapes
    cdef bint use_blas, parallel
    cdef ndarray target = out
    cdef bint shapes_ok

    if nd < 2 or cnp.PyArray_NDIM(b) != nd or cnp.PyArray_NDIM(out) != nd:
        raise ValueError(
            f"matmul: a, b and out must have the same number of dims, at least 2; "
            f"got a {shape_of(a)}, b {shape_of(b)}, out {shape_of(out)}")
    if dtype == DT_UNSUPPORTED or dtype_of(b) != dtype or dtype_of(out) != dtype:
        raise TypeError(
            f"matmul: a, b and out must share one dtype among float32, float64, int8, "
            f"int16, int32, int64, uint8, bool; got a {a.dtype}, b {b.dtype}, out {out.dtype}")
    if accumulate and dtype != DT_FLOAT32 and dtype != DT_FLOAT64:
        raise TypeError(f"matmul: accumulating into out needs float32 or float64, got {a.dtype}")
    b_dims = cnp.PyArray_DIMS(b)
    out_dims = cnp.PyArray_DIMS(out)
    plan.m = a_dims[nd - 2]
    plan.k = a_dims[nd - 1]
    plan.n = b_dims[nd - 1]
    shapes_ok = b_dims[nd - 2] == plan.k and out_dims[nd - 2] == plan.m and out_dims[nd - 1] == plan.n
    for d in range(nd - 2):
        if b_dims[d] != a_dims[d] or out_dims[d] != a_dims[d]:
            shapes_ok = False
    if not shapes_ok:
        raise ValueError(
            f"matmul: expected a (..., M, K), b (..., K, N), out (..., M, N) with identical "
            f"batch dims; got a {shape_of(a)}, b {shape_of(b)}, out {shape_of(out)}")
    if not cnp.PyArray_ISNOTSWAPPED(out):
        raise TypeError(f"matmul: out dtype {out.dtype} must be in native byte order")
    if not (cnp.PyArray_IS_C_CONTIGUOUS(out) and cnp.PyArray_ISWRITEABLE(out)
            and cnp.PyArray_ISALIGNED(out)):
        raise ValueError(
            f"matmul: out must be a writeable, aligned, C-contiguous array "
            f"(shape {shape_of(out)}, strides {(<object>out).strides})")

    plan.itemsize = cnp.PyArray_ITEMSIZE(a)
    plan.batch_ndim = nd - 2
    plan.batch_count = 1
    for d in range(nd - 2):
        plan.batch_shape[d] = a_dims[d]
        plan.batch_count *= a_dims[d]
    if plan.batch_count == 0 or plan.m == 0 or plan.n == 0:
        return
    if plan.k == 0:
        if not accumulate:
            memset(cnp.PyArray_DATA(out), 0, cnp.PyArray_NBYTES(out))
        return

    plan.accumulate = accumulate
    if may_overlap(out, a) or may_overlap(out, b):
        # BLAS reads operands while writing out: compute aside, then copy.
        target = np.array(out, order="C") if accumulate else np.empty_like(out, order="C")
    if not usable_without_copy(a):
        a = contiguous_matrices(a)
    if not usable_without_copy(b):
        b = contiguous_matrices(b)

    macs = <double>plan.m * plan.n * plan.k
    use_blas = ((dtype == DT_FLOAT32 or dtype == DT_FLOAT64) and macs > LOOP_BEATS_BLAS_MACS
                and plan.m <= INT_MAX and plan.n <= INT_MAX and plan.k <= INT_MAX)
    if use_blas:
        # Copy only an operand whose strides neither BLAS form accepts.
        if not fits_blas(a, plan.m, plan.k, plan.itemsize):
            a = contiguous_matrices(a)
        if not fits_blas(b, plan.k, plan.n, plan.itemsize):
            b = contiguous_matrices(b)
        plan_blas(&plan, a, b)
        plan.kernel = KERNEL_BLAS_FLOAT32 if dtype == DT_FLOAT32 else KERNEL_BLAS_FLOAT64
    else:
        plan.kernel = loop_kernel_for(dtype)
        if macs >= LOOP_COPY_MACS:
            # The integer loop streams rows of b; the bool loop walks a's
            # rows against b's columns.
            if dtype == DT_BOOL:
                if cnp.PyArray_STRIDES(a)[nd - 1] != 1:
                    a = contiguous_matrices(a)
                if cnp.PyArray_STRIDES(b)[nd - 2] != 1:
                    b = contiguous_matrices(b, column_major=True)
            elif cnp.PyArray_STRIDES(b)[nd - 1] != plan.itemsize:
                b = contiguous_matrices(b)
        plan.a_row_stride = cnp.PyArray_STRIDES(a)[nd - 2]
        plan.a_col_stride = cnp.PyArray_STRIDES(a)[nd - 1]
        plan.b_row_stride = cnp.PyArray_STRIDES(b)[nd - 2]
        plan.b_col_stride = cnp.PyArray_STRIDES(b)[nd - 1]

    for d in range(nd - 2):
        plan.a_batch_strides[d] = cnp.PyArray_STRIDES(a)[d]
        plan.b_batch_strides[d] = cnp.PyArray_STRIDES(b)[d]
    plan.a_data = <char*>cnp.PyArray_DATA(a)
    plan.b_data = <char*>cnp.PyArray_DATA(b)
    plan.out_data = <char*>cnp.PyArray_DATA(target)

    # A BLAS batch runs on our threads only when scipy's BLAS is single-threaded.
    parallel = (plan.batch_count > 1 and plan.batch_count * macs >= PARALLEL_BATCH_MACS
                and (not use_blas or nr_blas_split_threads() > 1))
    if plan.batch_count * macs >= RELEASE_GIL_MACS:
        with nogil:
            run_batch(&plan, parallel)
    else:
        run_batch(&plan, False)

    if target is not out:
        memcpy(cnp.PyArray_DATA(out), cnp.PyArray_DATA(target), cnp.PyArray_NBYTES(out))
