# cython: language_level=3
"""Pooling kernels (max, average, adaptive average) on C-contiguous NCHW arrays.

Every (n, c) plane is independent, so planes split across OpenMP threads with
the GIL released; backward kernels write only into their own plane too.
1-D pooling is 2-D pooling with ``H == 1``.  Padding is the leading padding;
the output size is read from the output array (so ``ceil_mode`` is decided by
the caller, once, for every device).

Max-pool indices are flat positions within the input plane (``h * W + w``),
as in torch.

Example:
    >>> import numpy as np
    >>> from neurarust._core import pool
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    >>> out = np.empty((1, 1, 2, 2), np.float32); idx = np.empty((1, 1, 2, 2), np.int64)
    >>> pool.max_pool2d_forward(x, out, idx, 2, 2, 2, 2, 0, 0, 1, 1)
    >>> out.ravel().tolist(), idx.ravel().tolist()
    ([5.0, 7.0, 13.0, 15.0], [5, 7, 13, 15])
"""
cimport numpy as cnp
from cython.parallel cimport prange
from libc.math cimport INFINITY
from libc.stdint cimport int64_t
from libc.string cimport memset
from numpy cimport ndarray

from neurarust._core.config cimport nr_num_threads

import numpy as np

cnp.import_array()

__all__ = ["max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward",
           "avg_pool2d_backward", "adaptive_avg_pool2d_forward", "adaptive_avg_pool2d_backward"]

ctypedef fused real:
    float
    double

cdef Py_ssize_t PARALLEL_MIN = 1 << 15


cdef int _check(ndarray a, str name, object dtype) except -1:
    if not cnp.PyArray_IS_C_CONTIGUOUS(a) or cnp.PyArray_NDIM(a) != 4:
        raise ValueError(f"pool kernels: {name} must be a C-contiguous 4-D array, got shape {(<object>a).shape}")
    if a.dtype != dtype:
        raise TypeError(f"pool kernels: {name} has dtype {a.dtype}, expected {dtype}")
    return 0


cdef int _check_pair(ndarray x, ndarray y) except -1:
    _check(x, "input", x.dtype)
    _check(y, "output", x.dtype)
    if x.dtype != np.float32 and x.dtype != np.float64:
        raise TypeError(f"pool kernels: only float32 and float64 are supported, got {x.dtype}")
    if x.shape[0] != y.shape[0] or x.shape[1] != y.shape[1]:
        raise ValueError(f"pool kernels: output {(<object>y).shape} does not fit input {(<object>x).shape}")
    return 0


cdef inline int _threads(Py_ssize_t work) noexcept:
    return nr_num_threads() if work >= PARALLEL_MIN else 1


# ----------------------------------------------------------------- max pool
cdef void _max_plane(const real* plane, real* y, int64_t* idx, Py_ssize_t H, Py_ssize_t W,
                     Py_ssize_t OH, Py_ssize_t OW, Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh,
                     Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh,
                     Py_ssize_t dw) noexcept nogil:
    cdef Py_ssize_t oh, ow, ki, kj, ih, iw, best_i, hs, ws, k0, k1, j0, j1, cand
    cdef real best, v
    cdef Py_ssize_t mask
    for oh in range(OH):
        hs = oh * sh - ph
        # kernel rows inside the input: ki in [k0, k1)
        k0 = 0 if hs >= 0 else (-hs + dh - 1) // dh
        k1 = kh if hs + (kh - 1) * dh < H else (H - 1 - hs) // dh + 1
        for ow in range(OW):
            ws = ow * sw - pw
            j0 = 0 if ws >= 0 else (-ws + dw - 1) // dw
            j1 = kw if ws + (kw - 1) * dw < W else (W - 1 - ws) // dw + 1
            best = -INFINITY
            best_i = -1
            if k0 < k1 and j0 < j1:
                best_i = (hs + k0 * dh) * W + ws + j0 * dw
                best = plane[best_i]
            for ki in range(k0, k1):
                ih = hs + ki * dh
                for kj in range(j0, j1):
                    cand = ih * W + ws + kj * dw
                    v = plane[cand]
                    # NaN wins, as in torch (``v > best or isnan(v)``).  Masks, not
                    # branches: on real data the comparison is unpredictable.
                    mask = -(<Py_ssize_t>((v > best) | (v != v)))
                    best_i = best_i ^ ((best_i ^ cand) & mask)
                    best = plane[best_i]
            y[oh * OW + ow] = best
            idx[oh * OW + ow] = best_i


# The 2x2 row kernel is plain C: Cython turns ``a if c else b`` into if/else
# statements, which GCC keeps as branches (so do C ternaries), and on real data the comparison is
# unpredictable (random input ran 10x slower than sorted).  C ternaries on
# the value and index are selected with bit masks, which GCC cannot turn back
# into branches.
cdef extern from *:
    """
    #include <string.h>
    #define NR_MAX2X2_ROW(T, U, NAME)                                               \
    static void NAME(const T* __restrict r0, const T* __restrict r1,               \
                     T* __restrict y, int64_t* __restrict idx, Py_ssize_t OW,      \
                     int64_t i0, int64_t W) {                                      \
        for (Py_ssize_t ow = 0; ow < OW; ow++) {                                   \
            T best = r0[2 * ow], v;                                                \
            U bb, vb, m;                                                           \
            int64_t bi = i0 + 2 * ow, cand, mi;                                    \
            for (int k = 1; k < 4; k++) {                                          \
                v = (k == 1) ? r0[2 * ow + 1] : (k == 2) ? r1[2 * ow] : r1[2 * ow + 1]; \
                cand = i0 + (k >> 1) * W + 2 * ow + (k & 1);                       \
                mi = -(int64_t)((v > best) | (v != v));                            \
                m = (U)mi;                                                         \
                memcpy(&bb, &best, sizeof(T)); memcpy(&vb, &v, sizeof(T));         \
                bb ^= (bb ^ vb) & m;                                               \
                memcpy(&best, &bb, sizeof(T));                                     \
                bi ^= (bi ^ cand) & mi;                                            \
            }                                                                      \
            y[ow] = best; idx[ow] = bi;                                            \
        }                                                                          \
    }
    NR_MAX2X2_ROW(float, uint32_t, nr_max2x2_row_f)
    NR_MAX2X2_ROW(double, uint64_t, nr_max2x2_row_d)
    """
    void nr_max2x2_row_f(const float* r0, const float* r1, float* y, int64_t* idx, Py_ssize_t OW,
                         int64_t i0, int64_t W) noexcept nogil
    void nr_max2x2_row_d(const double* r0, const double* r1, double* y, int64_t* idx,
                         Py_ssize_t OW, int64_t i0, int64_t W) noexcept nogil


cdef void _max_plane_2x2(const real* plane, real* y, int64_t* idx, Py_ssize_t W, Py_ssize_t OH,
                         Py_ssize_t OW) noexcept nogil:
    """2x2 windows, stride 2, no padding or dilation, every window inside the plane.

    Candidates are compared in the general loop's order (row-major; a larger
    value or a NaN replaces the best), so values and indices are identical.
    """
    cdef Py_ssize_t oh
    for oh in range(OH):
        if real is float:
            nr_max2x2_row_f(plane + 2 * oh * W, plane + (2 * oh + 1) * W, y + oh * OW,
                            idx + oh * OW, OW, 2 * oh * W, W)
        else:
            nr_max2x2_row_d(plane + 2 * oh * W, plane + (2 * oh + 1) * W, y + oh * OW,
                            idx + oh * OW, OW, 2 * oh * W, W)


cdef void _max_fwd(const real* x, real* y, int64_t* idx, Py_ssize_t P, Py_ssize_t H, Py_ssize_t W,
                   Py_ssize_t OH, Py_ssize_t OW, Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh,
                   Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh, Py_ssize_t dw,
                   int threads) noexcept nogil:
    cdef Py_ssize_t p
    cdef bint fast = (kh == 2 and kw == 2 and sh == 2 and sw == 2 and ph == 0 and pw == 0
                      and dh == 1 and dw == 1 and 2 * OH <= H and 2 * OW <= W)
    if fast:
        for p in prange(P, num_threads=threads, schedule="static"):
            _max_plane_2x2(x + p * H * W, y + p * OH * OW, idx + p * OH * OW, W, OH, OW)
        return
    for p in prange(P, num_threads=threads, schedule="static"):
        _max_plane(x + p * H * W, y + p * OH * OW, idx + p * OH * OW, H, W, OH, OW, kh, kw, sh,
                   sw, ph, pw, dh, dw)


cdef Py_ssize_t _max_bwd(const real* g, const int64_t* idx, real* gx, Py_ssize_t P,
                         Py_ssize_t HW, Py_ssize_t L, int threads) noexcept nogil:
    """Scatter-add; returns how many indices were out of range (those are skipped).

    Checking the range here, in the one pass over ``idx``, saves the two extra
    passes of a NumPy ``min``/``max`` check before the call.
    """
    cdef Py_ssize_t p, i, j, bad = 0
    for p in prange(P, num_threads=threads, schedule="static"):
        memset(gx + p * HW, 0, HW * sizeof(real))
        for i in range(L):
            j = idx[p * L + i]
            if j >= 0 and j < HW:
                gx[p * HW + j] += g[p * L + i]
            elif j != -1:
                bad += 1
    return bad


def max_pool2d_forward(ndarray x, ndarray y, ndarray idx, Py_ssize_t kh, Py_ssize_t kw,
                       Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh,
                       Py_ssize_t dw):
    """Max over each window of ``x`` into ``y``; ``idx`` (int64) gets the flat argmax in the plane."""
    _check_pair(x, y)
    _check(idx, "indices", np.dtype(np.int64))
    if (<object>idx).shape != (<object>y).shape:
        raise ValueError("max_pool2d_forward: indices must have the output's shape")
    if min(kh, kw, sh, sw, dh, dw) < 1 or min(ph, pw) < 0:
        raise ValueError("max_pool2d_forward: kernel, stride, dilation must be >= 1 and padding >= 0")
    cdef Py_ssize_t P = x.shape[0] * x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t OH = y.shape[2], OW = y.shape[3]
    cdef int threads = _threads(y.size * kh * kw)
    cdef bint f32 = x.dtype == np.float32
    with nogil:
        if f32:
            _max_fwd(<float*>cnp.PyArray_DATA(x), <float*>cnp.PyArray_DATA(y),
                     <int64_t*>cnp.PyArray_DATA(idx), P, H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh,
                     dw, threads)
        else:
            _max_fwd(<double*>cnp.PyArray_DATA(x), <double*>cnp.PyArray_DATA(y),
                     <int64_t*>cnp.PyArray_DATA(idx), P, H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh,
                     dw, threads)


def max_pool2d_backward(ndarray g, ndarray idx, ndarray gx):
    """``gx`` (overwritten) = ``g`` scattered (summed) to the argmax positions ``idx``."""
    _check_pair(gx, g)
    _check(idx, "indices", np.dtype(np.int64))
    if (<object>idx).shape != (<object>g).shape:
        raise ValueError("max_pool2d_backward: indices must have the gradient's shape")
    cdef Py_ssize_t P = gx.shape[0] * gx.shape[1], HW = gx.shape[2] * gx.shape[3]
    cdef Py_ssize_t L = g.shape[2] * g.shape[3]
    cdef Py_ssize_t bad = 0
    cdef int threads = _threads(gx.size)
    cdef bint f32 = gx.dtype == np.float32
    with nogil:
        if f32:
            bad = _max_bwd(<float*>cnp.PyArray_DATA(g), <int64_t*>cnp.PyArray_DATA(idx),
                           <float*>cnp.PyArray_DATA(gx), P, HW, L, threads)
        else:
            bad = _max_bwd(<double*>cnp.PyArray_DATA(g), <int64_t*>cnp.PyArray_DATA(idx),
                           <double*>cnp.PyArray_DATA(gx), P, HW, L, threads)
    if bad:
        raise IndexError(f"max_pool2d_backward: index out of range for planes of {HW} elements")


# ------------------------------------------------------------- average pool
cdef inline Py_ssize_t _imin(Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    return a if a < b else b


cdef inline Py_ssize_t _imax(Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    return a if a > b else b


cdef void _avg(const real* src, real* dst, Py_ssize_t P, Py_ssize_t H, Py_ssize_t W,
               Py_ssize_t OH, Py_ssize_t OW, Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh,
               Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw, bint include_pad, Py_ssize_t divisor,
               bint backward, int threads) noexcept nogil:
    """Forward: dst (pooled) from src (input). Backward: dst (input grad) from src (output grad)."""
    cdef Py_ssize_t p, oh, ow, h0, h1, w0, w1, ih, iw, count
    cdef double acc, share
    for p in prange(P, num_threads=threads, schedule="static"):
        if backward:
            memset(dst + p * H * W, 0, H * W * sizeof(real))
        for oh in range(OH):
            h0 = oh * sh - ph
            # A window is clipped to the padded input first (that size counts padding) ...
            h1 = _imin(h0 + kh, H + ph)
            for ow in range(OW):
                w0 = ow * sw - pw
                w1 = _imin(w0 + kw, W + pw)
                count = (h1 - h0) * (w1 - w0)
                # ... then to the real input (that size does not).
                if not include_pad:
                    count = (_imin(h1, H) - _imax(h0, 0)) * (_imin(w1, W) - _imax(w0, 0))
                if divisor > 0:
                    count = divisor
                if backward:
                    share = src[(p * OH + oh) * OW + ow] / <double>count if count > 0 else 0.0
                    for ih in range(_imax(h0, 0), _imin(h1, H)):
                        for iw in range(_imax(w0, 0), _imin(w1, W)):
                            dst[(p * H + ih) * W + iw] += <real>share
                else:
                    acc = 0.0
                    for ih in range(_imax(h0, 0), _imin(h1, H)):
                        for iw in range(_imax(w0, 0), _imin(w1, W)):
                            acc = acc + src[(p * H + ih) * W + iw]
                    dst[(p * OH + oh) * OW + ow] = <real>(acc / count) if count > 0 else <real>0.0


def _avg_call(ndarray x, ndarray y, Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
              Py_ssize_t ph, Py_ssize_t pw, bint count_include_pad, Py_ssize_t divisor,
              bint backward):
    _check_pair(x, y)
    if min(kh, kw, sh, sw) < 1 or min(ph, pw) < 0:
        raise ValueError("avg_pool2d: kernel and stride must be >= 1 and padding >= 0")
    cdef Py_ssize_t P = x.shape[0] * x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t OH = y.shape[2], OW = y.shape[3]
    cdef int threads = _threads(y.size * kh * kw)
    cdef bint f32 = x.dtype == np.float32
    cdef void* src = cnp.PyArray_DATA(y) if backward else cnp.PyArray_DATA(x)
    cdef void* dst = cnp.PyArray_DATA(x) if backward else cnp.PyArray_DATA(y)
    with nogil:
        if f32:
            _avg(<float*>src, <float*>dst, P, H, W, OH, OW, kh, kw, sh, sw, ph, pw,
                 count_include_pad, divisor, backward, threads)
        else:
            _avg(<double*>src, <double*>dst, P, H, W, OH, OW, kh, kw, sh, sw, ph, pw,
                 count_include_pad, divisor, backward, threads)


def avg_pool2d_forward(ndarray x, ndarray y, Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh,
                       Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw, bint count_include_pad,
                       Py_ssize_t divisor_override=0):
    """Window means of ``x`` into ``y`` (``divisor_override`` > 0 replaces the divisor)."""
    _avg_call(x, y, kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override, False)


def avg_pool2d_backward(ndarray g, ndarray gx, Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh,
                        Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw, bint count_include_pad,
                        Py_ssize_t divisor_override=0):
    """``gx`` (overwritten) = the adjoint of :func:`avg_pool2d_forward` applied to ``g``."""
    _avg_call(gx, g, kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override, True)


# ---------------------------------------------------- adaptive average pool
cdef void _adaptive(const real* src, real* dst, Py_ssize_t P, Py_ssize_t H, Py_ssize_t W,
                    Py_ssize_t OH, Py_ssize_t OW, bint backward, int threads) noexcept nogil:
    cdef Py_ssize_t p, oh, ow, h0, h1, w0, w1, ih, iw
    cdef double acc, share
    for p in prange(P, num_threads=threads, schedule="static"):
        if backward:
            memset(dst + p * H * W, 0, H * W * sizeof(real))
        for oh in range(OH):
            # bin i covers [floor(i*H/OH), ceil((i+1)*H/OH))
            h0 = (oh * H) // OH
            h1 = ((oh + 1) * H + OH - 1) // OH
            for ow in range(OW):
                w0 = (ow * W) // OW
                w1 = ((ow + 1) * W + OW - 1) // OW
                if backward:
                    share = src[(p * OH + oh) * OW + ow] / <double>((h1 - h0) * (w1 - w0))
                    for ih in range(h0, h1):
                        for iw in range(w0, w1):
                            dst[(p * H + ih) * W + iw] += <real>share
                else:
                    acc = 0.0
                    for ih in range(h0, h1):
                        for iw in range(w0, w1):
                            acc = acc + src[(p * H + ih) * W + iw]
                    dst[(p * OH + oh) * OW + ow] = <real>(acc / ((h1 - h0) * (w1 - w0)))


def _adaptive_call(ndarray x, ndarray y, bint backward):
    _check_pair(x, y)
    if y.shape[2] < 1 or y.shape[3] < 1:
        raise ValueError("adaptive_avg_pool2d: output size must be >= 1")
    cdef Py_ssize_t P = x.shape[0] * x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t OH = y.shape[2], OW = y.shape[3]
    cdef int threads = _threads(x.size)
    cdef bint f32 = x.dtype == np.float32
    cdef void* src = cnp.PyArray_DATA(y) if backward else cnp.PyArray_DATA(x)
    cdef void* dst = cnp.PyArray_DATA(x) if backward else cnp.PyArray_DATA(y)
    with nogil:
        if f32:
            _adaptive(<float*>src, <float*>dst, P, H, W, OH, OW, backward, threads)
        else:
            _adaptive(<double*>src, <double*>dst, P, H, W, OH, OW, backward, threads)


def adaptive_avg_pool2d_forward(ndarray x, ndarray y):
    """Adaptive average pooling of ``x`` into ``y``'s spatial size."""
    _adaptive_call(x, y, False)


def adaptive_avg_pool2d_backward(ndarray g, ndarray gx):
    """``gx`` (overwritten) = the adjoint of :func:`adaptive_avg_pool2d_forward` applied to ``g``."""
    _adaptive_call(gx, g, True)
