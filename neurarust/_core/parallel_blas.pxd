# Row-major GEMM and GEMV on scipy's BLAS, split across the kernels' OpenMP threads.
#
# scipy's OpenBLAS is kept single-threaded (``config.blas_is_single_threaded``)
# so that one thread pool, ours, owns the cores: two pools on two cores spend
# their time waking and starving each other.  Large products are therefore
# split here, by rows or columns of the output, one BLAS call per thread.
#
# Split points are multiples of GEMM_ALIGN (GEMV_ALIGN), a multiple of the
# register-tile widths OpenBLAS uses, so no thread gets a ragged edge tile in
# mid-matrix, while two threads still get halves within a few percent; each
# part keeps at least SPLIT_MIN_MACS (GEMV_SPLIT_MIN_MACS) of work, below which
# a thread costs more than it saves.  As with OpenBLAS's own threading, the
# last bit of a product may depend on the thread count (OpenBLAS blocks a part
# differently from the whole); the reductions, not BLAS, carry the bit-for-bit
# guarantee.
from cython.parallel cimport prange
from scipy.linalg.cython_blas cimport dgemm, dgemv, sgemm, sgemv

from neurarust._core.config cimport nr_blas_split_threads

ctypedef fused blas_real:
    float
    double

cdef enum:
    GEMM_ALIGN = 32
    GEMV_ALIGN = 16
    SPLIT_MIN_MACS = 1 << 21
    GEMV_SPLIT_MIN_MACS = 1 << 17


cdef inline Py_ssize_t split_chunk(Py_ssize_t extent, double macs, double min_macs,
                                   Py_ssize_t align) noexcept nogil:
    """Output rows (or columns) per thread, or ``extent`` when one call is best."""
    cdef Py_ssize_t parts = nr_blas_split_threads()
    cdef Py_ssize_t chunk
    if parts <= 1 or macs < 2 * min_macs:
        return extent
    if <double>parts * min_macs > macs:
        parts = <Py_ssize_t>(macs / min_macs)
    chunk = (extent + parts - 1) // parts
    chunk = (chunk + align - 1) // align * align
    return chunk if chunk < extent else extent


cdef inline void gemm_call(bint ta, bint tb, int M, int N, int K, blas_real alpha,
                           const blas_real* A, int lda, const blas_real* B, int ldb, blas_real beta,
                           blas_real* C, int ldc) noexcept nogil:
    # BLAS is column-major: C^T = op(B)^T op(A)^T, so the operands swap places.
    cdef char ca = b'T' if ta else b'N'
    cdef char cb = b'T' if tb else b'N'
    if blas_real is float:
        sgemm(&cb, &ca, &N, &M, &K, &alpha, <float*>B, &ldb, <float*>A, &lda, &beta, C, &ldc)
    else:
        dgemm(&cb, &ca, &N, &M, &K, &alpha, <double*>B, &ldb, <double*>A, &lda, &beta, C, &ldc)


cdef inline void gemm_rm(bint ta, bint tb, int M, int N, int K, blas_real alpha,
                         const blas_real* A, int lda, const blas_real* B, int ldb, blas_real beta,
                         blas_real* C, int ldc) noexcept nogil:
    """Row-major ``C(M, N) = alpha * op(A) @ op(B) + beta * C``; ``ta``/``tb`` transpose A/B.

    ``A`` is M x K (K x M when ``ta``) with row stride ``lda``; likewise B and C.
    """
    cdef bint by_rows = M >= N
    cdef Py_ssize_t extent = M if by_rows else N
    cdef Py_ssize_t chunk, part, start, stop
    if M == 0 or N == 0:
        return
    chunk = split_chunk(extent, <double>M * N * K, SPLIT_MIN_MACS, GEMM_ALIGN)
    if chunk >= extent:
        gemm_call(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
        return
    for part in prange((extent + chunk - 1) // chunk, schedule="static", num_threads=nr_blas_split_threads()):
        start = part * chunk
        stop = min(extent, start + chunk)
        if by_rows:
            gemm_call(ta, tb, <int>(stop - start), N, K, alpha,
                      A + (start if ta else start * lda), lda, B, ldb, beta, C + start * ldc, ldc)
        else:
            gemm_call(ta, tb, M, <int>(stop - start), K, alpha, A, lda,
                      B + (start * ldb if tb else start), ldb, beta, C + start, ldc)


cdef inline void gemv_call(char trans, int rows, int cols, blas_real alpha, const blas_real* A, int lda,
                           const blas_real* x, int incx, blas_real beta, blas_real* y) noexcept nogil:
    cdef int incy = 1
    if blas_real is float:
        sgemv(&trans, &rows, &cols, &alpha, <float*>A, &lda, <float*>x, &incx, &beta, y, &incy)
    else:
        dgemv(&trans, &rows, &cols, &alpha, <double*>A, &lda, <double*>x, &incx, &beta, y, &incy)


cdef inline void gemv_cm(char trans, int rows, int cols, blas_real alpha, const blas_real* A, int lda,
                         const blas_real* x, int incx, blas_real beta, blas_real* y) noexcept nogil:
    """Column-major BLAS ``y = alpha * op(A) x + beta * y`` (``A`` rows x cols, ``y`` contiguous)."""
    cdef bint by_rows = trans == b'N'
    cdef Py_ssize_t extent = rows if by_rows else cols
    cdef Py_ssize_t chunk, part, start, stop
    chunk = split_chunk(extent, <double>rows * cols, GEMV_SPLIT_MIN_MACS, GEMV_ALIGN)
    if chunk >= extent:
        gemv_call(trans, rows, cols, alpha, A, lda, x, incx, beta, y)
        return
    for part in prange((extent + chunk - 1) // chunk, schedule="static", num_threads=nr_blas_split_threads()):
        start = part * chunk
        stop = min(extent, start + chunk)
        if by_rows:
            gemv_call(trans, <int>(stop - start), cols, alpha, A + start, lda, x, incx, beta, y + start)
        else:
            gemv_call(trans, rows, <int>(stop - start), alpha, A + start * lda, lda, x, incx, beta,
                      y + start)
