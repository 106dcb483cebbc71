# cython: language_level=3
"""Convolution kernels: im2col / col2im and the three GEMM-based conv products.

All arrays are C-contiguous float32 or float64 numpy arrays in NCHW layout
(1-D convolutions are 2-D ones with ``H == 1``).  Padding is given as the
*leading* padding (``ph``, ``pw``) plus the output size, which is how
asymmetric ``'same'`` padding is expressed without padding the input.

The GEMMs go to the OpenBLAS bundled with scipy (``cython_blas``).  numpy is
row-major and BLAS column-major, so ``C = A @ B`` is issued as
``C^T = B^T A^T``: a transposed operand is passed with ``'T'``, never copied.

* forward:      ``y[n, g] = W[g] @ im2col(x[n])[g]`` (+ bias, preloaded into y)
* input grad:   ``gx[n] = col2im(W[g]^T @ gy[n, g])``
* weight grad:  ``gW[g] = sum_n gy[n, g] @ im2col(x[n])[g]^T`` -- the batch sum
  is folded into BLAS by accumulating with ``beta = 1``, per fixed chunk of
  samples, and the chunks' partial sums are added in order.

Each thread takes whole samples (chunks, for the weight gradient) and owns an
im2col buffer of one sample, which stays in cache between its construction
and the GEMM that reads it.  A 1x1 kernel with stride 1 and no
padding needs no im2col at all: the sample itself is the matrix.

Example:
    >>> import numpy as np
    >>> from neurarust._core import conv
    >>> x = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
    >>> cols = np.empty((1, 4, 4), np.float32)
    >>> conv.im2col(x, cols, 2, 2, 1, 1, 0, 0, 1, 1, 2, 2)
    >>> cols[0, :, 0].tolist()
    [0.0, 1.0, 3.0, 4.0]
"""
cimport numpy as cnp
from cython.parallel cimport prange, threadid
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset
from numpy cimport ndarray

from neurarust._core.config cimport nr_num_threads
from neurarust._core.parallel_blas cimport gemm_rm

import numpy as np

cnp.import_array()

__all__ = ["im2col", "col2im", "conv2d_forward", "conv2d_input_grad", "conv2d_weight_grad"]

ctypedef fused real:
    float
    double

# Below this many elements per call, OpenMP threads cost more than they save.
cdef Py_ssize_t PARALLEL_MIN = 1 << 15


cdef inline Py_ssize_t _valid_lo(Py_ssize_t off, Py_ssize_t s) noexcept nogil:
    # first o >= 0 with o * s + off >= 0
    if off >= 0:
        return 0
    return (-off + s - 1) // s


cdef inline Py_ssize_t _valid_hi(Py_ssize_t off, Py_ssize_t s, Py_ssize_t n, Py_ssize_t limit) noexcept nogil:
    # one past the last o < limit with o * s + off < n
    cdef Py_ssize_t hi
    if n - 1 - off < 0:
        return 0
    hi = (n - 1 - off) // s + 1
    return hi if hi < limit else limit


cdef void _im2col_plane_same(const real* x, real* cols, Py_ssize_t ld, Py_ssize_t H, Py_ssize_t W,
                             Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t ph, Py_ssize_t pw,
                             Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t OH) noexcept nogil:
    """:func:`_im2col_plane` for stride 1 with ``OW == W`` (e.g. 'same' padding).

    Then a kernel offset is one flat shift: row (ki, kj) is ``x`` read from
    ``(ki*dh - ph) * W + kj*dw - pw`` on, so the valid rows are ONE memcpy, and
    only the few edge columns that wrapped into a neighbouring input row are
    zeroed afterwards.  The row-by-row path issues 2-3 tiny library calls per
    output row, which dominated the im2col of small (14x14) planes.
    """
    cdef Py_ssize_t ki, kj, oh, ow, off, lo, hi, oh0, oh1, shift, a, b
    cdef real* dst
    for ki in range(kh):
        # output rows whose input row ih = oh + ki*dh - ph is inside [0, H)
        oh0 = ph - ki * dh
        if oh0 < 0:
            oh0 = 0
        oh1 = H + ph - ki * dh
        if oh1 > OH:
            oh1 = OH
        if oh1 < oh0:
            oh1 = oh0
        for kj in range(kw):
            dst = cols + (ki * kw + kj) * ld
            off = kj * dw - pw
            lo = _valid_lo(off, 1)
            hi = _valid_hi(off, 1, W, W)
            if hi < lo:
                hi = lo
            if oh0 > 0:
                memset(dst, 0, oh0 * W * sizeof(real))
            if oh1 < OH:
                memset(dst + oh1 * W, 0, (OH - oh1) * W * sizeof(real))
            if oh1 == oh0:
                continue
            shift = (ki * dh - ph) * W + off
            # Flat range [a, b) of dst to copy, clipped so the source stays in the
            # plane; everything clipped is an edge column, zeroed below anyway.
            a = oh0 * W
            b = oh1 * W
            if a + shift < 0:
                a = -shift
            if b + shift > H * W:
                b = H * W - shift
            if b > a:
                memcpy(dst + a, x + a + shift, (b - a) * sizeof(real))
            for oh in range(oh0, oh1):
                for ow in range(lo):
                    dst[oh * W + ow] = 0
                for ow in range(hi, W):
                    dst[oh * W + ow] = 0


cdef void _im2col_plane(const real* x, real* cols, Py_ssize_t H, Py_ssize_t W, Py_ssize_t kh,
                        Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw,
                        Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t OH, Py_ssize_t OW) noexcept nogil:
    """One channel plane (H, W) -> its kh*kw rows of OH*OW columns."""
    cdef Py_ssize_t ki, kj, oh, ow, ih, off, lo, hi
    cdef real* dst
    cdef const real* src
    if sh == 1 and sw == 1 and OW == W:
        _im2col_plane_same(x, cols, OH * OW, H, W, kh, kw, ph, pw, dh, dw, OH)
        return
    for ki in range(kh):
        for kj in range(kw):
            off = kj * dw - pw
            lo = _valid_lo(off, sw)
            hi = _valid_hi(off, sw, W, OW)
            if hi < lo:
                hi = lo
            for oh in range(OH):
                dst = cols + ((ki * kw + kj) * OH + oh) * OW
                ih = oh * sh - ph + ki * dh
                if ih < 0 or ih >= H or hi == lo:
                    memset(dst, 0, OW * sizeof(real))
                    continue
                src = x + ih * W + off
                if lo > 0:
                    memset(dst, 0, lo * sizeof(real))
                if sw == 1:
                    memcpy(dst + lo, src + lo, (hi - lo) * sizeof(real))
                else:
                    for ow in range(lo, hi):
                        dst[ow] = src[ow * sw]
                if hi < OW:
                    memset(dst + hi, 0, (OW - hi) * sizeof(real))


cdef void _col2im_plane(const real* cols, real* x, Py_ssize_t H, Py_ssize_t W, Py_ssize_t kh,
                        Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw,
                        Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t OH, Py_ssize_t OW) noexcept nogil:
    """Adds the kh*kw rows of one channel back into its (H, W) plane (which the caller zeroed)."""
    cdef Py_ssize_t ki, kj, oh, ow, ih, off, lo, hi
    cdef const real* src
    cdef real* dst
    for ki in range(kh):
        for kj in range(kw):
            off = kj * dw - pw
            lo = _valid_lo(off, sw)
            hi = _valid_hi(off, sw, W, OW)
            for oh in range(OH):
                ih = oh * sh - ph + ki * dh
                if ih < 0 or ih >= H:
                    continue
                src = cols + ((ki * kw + kj) * OH + oh) * OW
                dst = x + ih * W + off
                if sw == 1:
                    for ow in range(lo, hi):
                        dst[ow] += src[ow]
                else:
                    for ow in range(lo, hi):
                        dst[ow * sw] += src[ow]


cdef void _im2col_sample(const real* x, real* cols, Py_ssize_t C, Py_ssize_t H, Py_ssize_t W,
                         Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph,
                         Py_ssize_t pw, Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t OH,
                         Py_ssize_t OW) noexcept nogil:
    cdef Py_ssize_t c
    for c in range(C):
        _im2col_plane(x + c * H * W, cols + c * kh * kw * OH * OW, H, W, kh, kw, sh, sw, ph, pw,
                      dh, dw, OH, OW)


cdef void _col2im_sample(const real* cols, real* x, Py_ssize_t C, Py_ssize_t H, Py_ssize_t W,
                         Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph,
                         Py_ssize_t pw, Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t OH,
                         Py_ssize_t OW) noexcept nogil:
    cdef Py_ssize_t c
    memset(x, 0, C * H * W * sizeof(real))
    for c in range(C):
        _col2im_plane(cols + c * kh * kw * OH * OW, x + c * H * W, H, W, kh, kw, sh, sw, ph, pw,
                      dh, dw, OH, OW)


cdef inline bint _is_identity(Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                              Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t H, Py_ssize_t W,
                              Py_ssize_t OH, Py_ssize_t OW) noexcept nogil:
    return kh == 1 and kw == 1 and sh == 1 and sw == 1 and ph == 0 and pw == 0 and OH == H and OW == W


cdef int _check(ndarray a, str name, int ndim, object dtype) except -1:
    if not cnp.PyArray_IS_C_CONTIGUOUS(a):
        raise ValueError(f"conv kernels: {name} must be C-contiguous")
    if cnp.PyArray_NDIM(a) != ndim:
        raise ValueError(f"conv kernels: {name} must have {ndim} dims, got shape {(<object>a).shape}")
    if a.dtype != dtype:
        raise TypeError(f"conv kernels: {name} has dtype {a.dtype}, expected {dtype}")
    if a.dtype != np.float32 and a.dtype != np.float64:
        raise TypeError(f"conv kernels: only float32 and float64 are supported, got {a.dtype}")
    return 0


# ------------------------------------------------------------- im2col / col2im
cdef void _im2col_batch(const real* x, real* cols, Py_ssize_t N, Py_ssize_t C, Py_ssize_t H,
                        Py_ssize_t W, Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                        Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t OH,
                        Py_ssize_t OW, int threads) noexcept nogil:
    cdef Py_ssize_t p
    # Planes are independent (each writes its own rows), so they split across threads.
    for p in prange(N * C, num_threads=threads, schedule="static"):
        _im2col_plane(x + p * H * W, cols + p * kh * kw * OH * OW, H, W, kh, kw, sh, sw, ph, pw,
                      dh, dw, OH, OW)


cdef void _col2im_batch(const real* cols, real* x, Py_ssize_t N, Py_ssize_t C, Py_ssize_t H,
                        Py_ssize_t W, Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                        Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t OH,
                        Py_ssize_t OW, int threads) noexcept nogil:
    cdef Py_ssize_t p
    # Each plane only receives from its own rows: no two threads write one element.
    for p in prange(N * C, num_threads=threads, schedule="static"):
        memset(x + p * H * W, 0, H * W * sizeof(real))
        _col2im_plane(cols + p * kh * kw * OH * OW, x + p * H * W, H, W, kh, kw, sh, sw, ph, pw,
                      dh, dw, OH, OW)


cdef _check_unfold_args(str name, ndarray x, ndarray cols, Py_ssize_t kh, Py_ssize_t kw,
                        Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh,
                        Py_ssize_t dw, Py_ssize_t OH, Py_ssize_t OW):
    """Shared boundary checks of im2col/col2im: x (N, C, H, W), cols (N, C*kh*kw, OH*OW)."""
    _check(x, "x", 4, x.dtype)
    _check(cols, "cols", 3, x.dtype)
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1]
    if cols.shape[0] != N or cols.shape[1] != C * kh * kw or cols.shape[2] != OH * OW:
        raise ValueError(f"{name}: cols has shape {(<object>cols).shape}, expected {(N, C * kh * kw, OH * OW)}")
    if min(kh, kw, sh, sw, dh, dw) < 1 or min(OH, OW, ph, pw) < 0:
        raise ValueError(f"{name}: kernel, stride and dilation must be >= 1, padding and output size >= 0")


def im2col(ndarray x, ndarray cols, Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
           Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t OH,
           Py_ssize_t OW):
    """Unfold ``x`` (N, C, H, W) into ``cols`` (N, C*kh*kw, OH*OW); ``ph``/``pw`` are leading pads."""
    _check_unfold_args("im2col", x, cols, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW)
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef int threads = nr_num_threads() if cols.size >= PARALLEL_MIN else 1
    cdef bint f32 = x.dtype == np.float32
    with nogil:
        if f32:
            _im2col_batch(<float*>cnp.PyArray_DATA(x), <float*>cnp.PyArray_DATA(cols), N, C, H, W,
                          kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, threads)
        else:
            _im2col_batch(<double*>cnp.PyArray_DATA(x), <double*>cnp.PyArray_DATA(cols), N, C, H,
                          W, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, threads)


def col2im(ndarray cols, ndarray x, Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
           Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t OH,
           Py_ssize_t OW):
    """Fold ``cols`` (N, C*kh*kw, OH*OW) into ``x`` (N, C, H, W), summing overlaps (x is overwritten)."""
    _check_unfold_args("col2im", x, cols, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW)
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef int threads = nr_num_threads() if cols.size >= PARALLEL_MIN else 1
    cdef bint f32 = x.dtype == np.float32
    with nogil:
        if f32:
            _col2im_batch(<float*>cnp.PyArray_DATA(cols), <float*>cnp.PyArray_DATA(x), N, C, H, W,
                          kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, threads)
        else:
            _col2im_batch(<double*>cnp.PyArray_DATA(cols), <double*>cnp.PyArray_DATA(x), N, C, H,
                          W, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, threads)


# ------------------------------------------------------------ conv products
# Samples are independent, so the batch splits across threads, each with its
# own im2col buffer; the per-sample GEMMs are too small to split themselves.
# Dynamic scheduling: on a shared machine a descheduled thread must not hold
# back the samples it was statically given.
cdef Py_ssize_t CONV_PARALLEL_MIN_MACS = 1 << 18
# The weight gradient sums over the batch in fixed chunks of this many samples
# (one partial sum each, added in chunk order), so its bits do not depend on
# how many threads shared the chunks.
cdef Py_ssize_t WGRAD_CHUNK = 8


cdef inline real* _thread_cols(real* cols, Py_ssize_t col_size) noexcept nogil:
    """The calling thread's im2col buffer (NULL when the conv needs none)."""
    return NULL if cols == NULL else cols + threadid() * col_size


cdef inline int _sample_threads(Py_ssize_t units, double macs) noexcept nogil:
    cdef int threads = nr_num_threads()
    if threads <= 1 or units < 2 or macs < CONV_PARALLEL_MIN_MACS:
        return 1
    return threads if threads < units else <int>units


cdef inline void _fwd_sample(const real* x, const real* w, const real* bias, real* y, real* cols,
                             Py_ssize_t C, Py_ssize_t H, Py_ssize_t W, Py_ssize_t O, Py_ssize_t kh,
                             Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph,
                             Py_ssize_t pw, Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t OH,
                             Py_ssize_t OW, Py_ssize_t groups) noexcept nogil:
    cdef Py_ssize_t Og = O // groups, K = (C // groups) * kh * kw, L = OH * OW
    cdef Py_ssize_t g, o, i
    cdef const real* colp = x
    cdef real beta = 0
    if bias != NULL:
        beta = 1
        for o in range(O):
            for i in range(L):
                y[o * L + i] = bias[o]
    if cols != NULL:
        _im2col_sample(x, cols, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW)
        colp = cols
    for g in range(groups):
        gemm_rm(False, False, <int>Og, <int>L, <int>K, 1, w + g * Og * K, <int>K,
                colp + g * K * L, <int>L, beta, y + g * Og * L, <int>L)


cdef int _conv_fwd(const real* x, const real* w, const real* bias, real* y, Py_ssize_t N,
                   Py_ssize_t C, Py_ssize_t H, Py_ssize_t W, Py_ssize_t O, Py_ssize_t kh,
                   Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw,
                   Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t OH, Py_ssize_t OW,
                   Py_ssize_t groups) noexcept nogil:
    cdef Py_ssize_t L = OH * OW, col_size = C * kh * kw * L, n
    cdef bint ident = _is_identity(kh, kw, sh, sw, ph, pw, H, W, OH, OW)
    cdef int threads = _sample_threads(N, <double>N * O * col_size / groups)
    cdef real* cols = NULL
    if not ident:
        cols = <real*>malloc(threads * col_size * sizeof(real))
        if cols == NULL:
            return -1
    for n in prange(N, num_threads=threads, schedule="dynamic"):
        _fwd_sample(x + n * C * H * W, w, bias, y + n * O * L, _thread_cols(cols, col_size), C, H,
                    W, O, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, groups)
    free(cols)
    return 0


cdef inline void _input_grad_sample(const real* gy, const real* w, real* gx, real* cols,
                                    Py_ssize_t C, Py_ssize_t H, Py_ssize_t W, Py_ssize_t O,
                                    Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                                    Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh, Py_ssize_t dw,
                                    Py_ssize_t OH, Py_ssize_t OW, Py_ssize_t groups) noexcept nogil:
    cdef Py_ssize_t Og = O // groups, K = (C // groups) * kh * kw, L = OH * OW, g
    cdef real* colp = gx if cols == NULL else cols
    for g in range(groups):
        gemm_rm(True, False, <int>K, <int>L, <int>Og, 1, w + g * Og * K, <int>K,
                gy + g * Og * L, <int>L, 0, colp + g * K * L, <int>L)
    if cols != NULL:
        _col2im_sample(cols, gx, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW)


cdef int _conv_input_grad(const real* gy, const real* w, real* gx, Py_ssize_t N, Py_ssize_t C,
                          Py_ssize_t H, Py_ssize_t W, Py_ssize_t O, Py_ssize_t kh, Py_ssize_t kw,
                          Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh,
                          Py_ssize_t dw, Py_ssize_t OH, Py_ssize_t OW,
                          Py_ssize_t groups) noexcept nogil:
    cdef Py_ssize_t L = OH * OW, col_size = C * kh * kw * L, n
    cdef bint ident = _is_identity(kh, kw, sh, sw, ph, pw, H, W, OH, OW)
    cdef int threads = _sample_threads(N, <double>N * O * col_size / groups)
    cdef real* cols = NULL
    if not ident:
        cols = <real*>malloc(threads * col_size * sizeof(real))
        if cols == NULL:
            return -1
    for n in prange(N, num_threads=threads, schedule="dynamic"):
        _input_grad_sample(gy + n * O * L, w, gx + n * C * H * W, _thread_cols(cols, col_size), C,
                           H, W, O, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, groups)
    free(cols)
    return 0


cdef inline void _weight_grad_chunk(const real* x, const real* gy, real* gw, real* cols,
                                    Py_ssize_t first, Py_ssize_t stop, Py_ssize_t C, Py_ssize_t H,
                                    Py_ssize_t W, Py_ssize_t O, Py_ssize_t kh, Py_ssize_t kw,
                                    Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw,
                                    Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t OH, Py_ssize_t OW,
                                    Py_ssize_t groups) noexcept nogil:
    """``gw = sum over samples [first, stop) of gy[n] @ im2col(x[n])^T``, per group."""
    cdef Py_ssize_t Og = O // groups, K = (C // groups) * kh * kw, L = OH * OW, n, g
    cdef const real* colp
    memset(gw, 0, O * K * sizeof(real))
    for n in range(first, stop):
        colp = x + n * C * H * W
        if cols != NULL:
            _im2col_sample(colp, cols, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW)
            colp = cols
        for g in range(groups):
            # beta = 1: the sum over the chunk accumulates inside BLAS.
            gemm_rm(False, True, <int>Og, <int>K, <int>L, 1, gy + (n * O + g * Og) * L, <int>L,
                    colp + g * K * L, <int>L, 1, gw + g * Og * K, <int>K)


cdef int _conv_weight_grad(const real* x, const real* gy, real* gw, Py_ssize_t N, Py_ssize_t C,
                           Py_ssize_t H, Py_ssize_t W, Py_ssize_t O, Py_ssize_t kh, Py_ssize_t kw,
                           Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw,
                           Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t OH, Py_ssize_t OW,
                           Py_ssize_t groups) noexcept nogil:
    cdef Py_ssize_t L = OH * OW, col_size = C * kh * kw * L, wsize = O * (C // groups) * kh * kw
    cdef Py_ssize_t chunks = (N + WGRAD_CHUNK - 1) // WGRAD_CHUNK, c, i
    cdef bint ident = _is_identity(kh, kw, sh, sw, ph, pw, H, W, OH, OW)
    cdef int threads = _sample_threads(chunks, <double>N * O * col_size / groups)
    cdef real* cols = NULL
    cdef real* partials = NULL
    cdef real* part
    if chunks <= 1:
        chunks = 1
    if not ident:
        cols = <real*>malloc(threads * col_size * sizeof(real))
    if chunks > 1:
        # Chunk 0 sums straight into gw; the others into their own partial.
        partials = <real*>malloc((chunks - 1) * wsize * sizeof(real))
    if (not ident and cols == NULL) or (chunks > 1 and partials == NULL):
        free(cols)
        free(partials)
        return -1
    for c in prange(chunks, num_threads=threads, schedule="dynamic"):
        _weight_grad_chunk(x, gy, gw if c == 0 else partials + (c - 1) * wsize,
                           _thread_cols(cols, col_size), c * WGRAD_CHUNK,
                           min(N, (c + 1) * WGRAD_CHUNK), C, H, W, O, kh, kw, sh, sw, ph, pw, dh,
                           dw, OH, OW, groups)
    for c in range(1, chunks):
        part = partials + (c - 1) * wsize
        for i in range(wsize):
            gw[i] += part[i]
    free(cols)
    free(partials)
    return 0


cdef tuple _conv_dims(ndarray x, ndarray w, ndarray y, Py_ssize_t groups):
    _check(x, "input", 4, x.dtype)
    _check(w, "weight", 4, x.dtype)
    _check(y, "output", 4, x.dtype)
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], O = w.shape[0]
    if groups < 1 or C % groups or O % groups or w.shape[1] * groups != C:
        raise ValueError(f"conv kernels: weight {(<object>w).shape} and groups={groups} do not fit input {(<object>x).shape}")
    if y.shape[0] != N or y.shape[1] != O:
        raise ValueError(f"conv kernels: output {(<object>y).shape} does not fit input {(<object>x).shape} and weight {(<object>w).shape}")
    if x.size and y.size and C * w.shape[2] * w.shape[3] * y.shape[2] * y.shape[3] > 2147483647:
        raise ValueError("conv kernels: im2col matrix too large for 32-bit BLAS")
    return N, C, O


def _check_geometry(Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh,
                    Py_ssize_t dw):
    if min(sh, sw, dh, dw) < 1 or min(ph, pw) < 0:
        raise ValueError("conv kernels: stride and dilation must be >= 1 and padding >= 0")


def conv2d_forward(ndarray x, ndarray w, object bias, ndarray y, Py_ssize_t sh, Py_ssize_t sw,
                   Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t groups):
    """``y = conv2d(x, w) + bias``; output size is read from ``y`` (N, O, OH, OW)."""
    _check_geometry(sh, sw, ph, pw, dh, dw)
    N, C, O = _conv_dims(x, w, y, groups)
    cdef ndarray b = None
    cdef void* bptr = NULL
    if bias is not None:
        b = <ndarray>bias
        _check(b, "bias", 1, x.dtype)
        if b.shape[0] != O:
            raise ValueError(f"conv kernels: bias {(<object>b).shape} does not fit {O} output channels")
        bptr = cnp.PyArray_DATA(b)
    cdef int rc
    cdef Py_ssize_t kh = w.shape[2], kw = w.shape[3]
    cdef Py_ssize_t H = x.shape[2], W = x.shape[3], OH = y.shape[2], OW = y.shape[3]
    cdef Py_ssize_t n_ = N, c_ = C, o_ = O
    cdef bint f32 = x.dtype == np.float32
    with nogil:
        if f32:
            rc = _conv_fwd(<float*>cnp.PyArray_DATA(x), <float*>cnp.PyArray_DATA(w),
                           <float*>bptr,
                           <float*>cnp.PyArray_DATA(y), n_, c_, H, W, o_, kh, kw, sh, sw, ph, pw,
                           dh, dw, OH, OW, groups)
        else:
            rc = _conv_fwd(<double*>cnp.PyArray_DATA(x), <double*>cnp.PyArray_DATA(w),
                           <double*>bptr,
                           <double*>cnp.PyArray_DATA(y), n_, c_, H, W, o_, kh, kw, sh, sw, ph, pw,
                           dh, dw, OH, OW, groups)
    if rc:
        raise MemoryError("conv2d: could not allocate the im2col buffer")


def conv2d_input_grad(ndarray gy, ndarray w, ndarray gx, Py_ssize_t sh, Py_ssize_t sw,
                      Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t groups):
    """``gx`` (N, C, H, W) = gradient of conv2d w.r.t. its input (also conv_transpose2d's forward)."""
    _check_geometry(sh, sw, ph, pw, dh, dw)
    N, C, O = _conv_dims(gx, w, gy, groups)
    cdef int rc
    cdef Py_ssize_t kh = w.shape[2], kw = w.shape[3]
    cdef Py_ssize_t H = gx.shape[2], W = gx.shape[3], OH = gy.shape[2], OW = gy.shape[3]
    cdef Py_ssize_t n_ = N, c_ = C, o_ = O
    cdef bint f32 = gx.dtype == np.float32
    with nogil:
        if f32:
            rc = _conv_input_grad(<float*>cnp.PyArray_DATA(gy), <float*>cnp.PyArray_DATA(w),
                                  <float*>cnp.PyArray_DATA(gx), n_, c_, H, W, o_, kh, kw, sh, sw,
                                  ph, pw, dh, dw, OH, OW, groups)
        else:
            rc = _conv_input_grad(<double*>cnp.PyArray_DATA(gy), <double*>cnp.PyArray_DATA(w),
                                  <double*>cnp.PyArray_DATA(gx), n_, c_, H, W, o_, kh, kw, sh, sw,
                                  ph, pw, dh, dw, OH, OW, groups)
    if rc:
        raise MemoryError("conv2d backward: could not allocate the im2col buffer")


def conv2d_weight_grad(ndarray x, ndarray gy, ndarray gw, Py_ssize_t sh, Py_ssize_t sw,
                       Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh, Py_ssize_t dw,
                       Py_ssize_t groups):
    """``gw`` (O, C/groups, kh, kw) = gradient of conv2d w.r.t. its weight, summed over the batch."""
    _check_geometry(sh, sw, ph, pw, dh, dw)
    N, C, O = _conv_dims(x, gw, gy, groups)
    cdef int rc
    cdef Py_ssize_t kh = gw.shape[2], kw = gw.shape[3]
    cdef Py_ssize_t H = x.shape[2], W = x.shape[3], OH = gy.shape[2], OW = gy.shape[3]
    cdef Py_ssize_t n_ = N, c_ = C, o_ = O
    cdef bint f32 = x.dtype == np.float32
    with nogil:
        if f32:
            rc = _conv_weight_grad(<float*>cnp.PyArray_DATA(x), <float*>cnp.PyArray_DATA(gy),
                                   <float*>cnp.PyArray_DATA(gw), n_, c_, H, W, o_, kh, kw, sh, sw,
                                   ph, pw, dh, dw, OH, OW, groups)
        else:
            rc = _conv_weight_grad(<double*>cnp.PyArray_DATA(x), <double*>cnp.PyArray_DATA(gy),
                                   <double*>cnp.PyArray_DATA(gw), n_, c_, H, W, o_, kh, kw, sh, sw,
                                   ph, pw, dh, dw, OH, OW, groups)
    if rc:
        raise MemoryError("conv2d backward: could not allocate the im2col buffer")
