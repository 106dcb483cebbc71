# cython: language_level=3
"""Fused kernels for ``neurarust.nn``: softmax + cross-entropy in one pass, relu's backward.

``cross_entropy_forward`` reads each row of (N, C) logits once for the
log-sum-exp and writes only per-row results; ``cross_entropy_backward``
writes ``softmax - one_hot`` (scaled, weighted, label-smoothed) in one pass.
Both validate every argument before touching memory and release the GIL.

Example:
    >>> import numpy as np
    >>> from neurarust._core import nn_kernels
    >>> x = np.zeros((2, 4), np.float32); t = np.array([1, 3])
    >>> lse, loss, nll, sm, wt = nn_kernels.cross_entropy_forward(x, t, None, -100, 0.0)
    >>> [round(float(v), 4) for v in loss]
    [1.3863, 1.3863]
"""
cimport numpy as cnp
from libc.stdint cimport int64_t
from numpy cimport ndarray

from neurarust._core.config cimport nr_num_threads

import numpy as np

cnp.import_array()

__all__ = ["cross_entropy_forward", "cross_entropy_backward", "relu_backward"]

cdef extern from "nr_nn_loss.h" nogil:
    ctypedef struct nr_ce_args:
        const void *x
        const int64_t *t
        const void *w
        int64_t ignore
        Py_ssize_t n, c
        int smooth
        double ls
        double w_total
        void *lse
        void *loss
        void *nll
        void *sm
        void *wt
        const void *gout
        double ca, cb
        void *gx
    Py_ssize_t nr_ce_check_targets(const int64_t *t, Py_ssize_t n, Py_ssize_t c, int64_t ignore)
    void nr_ce_run(const nr_ce_args *a, int f64, int backward, int max_threads)


cdef int _check(ndarray x, ndarray t, object weight) except -1:
    if x.ndim != 2 or not x.flags.c_contiguous:
        raise ValueError("cross_entropy kernel: logits must be a C-contiguous 2-D array")
    if x.dtype != np.float32 and x.dtype != np.float64:
        raise TypeError(f"cross_entropy kernel: logits must be float32 or float64, got {x.dtype}")
    if t.ndim != 1 or t.shape[0] != x.shape[0] or t.dtype != np.int64 or not t.flags.c_contiguous:
        raise ValueError("cross_entropy kernel: target must be a contiguous int64 array of length N")
    if weight is not None:
        w = <ndarray?>weight
        if w.ndim != 1 or w.shape[0] != x.shape[1] or w.dtype != x.dtype or not w.flags.c_contiguous:
            raise ValueError("cross_entropy kernel: weight must be a contiguous (C,) array of the logits' dtype")
    return 0


def cross_entropy_forward(ndarray x, ndarray t, object weight, int64_t ignore_index, double label_smoothing):
    """Per-row ``(lse, loss, nll, smooth, w_target)`` for logits ``x`` (N, C) and targets ``t`` (N,).

    ``loss = (1 - ls) * nll + ls / C * smooth``; rows with ``t == ignore_index``
    are all 0.  Raises ``IndexError`` naming the first out-of-range target.
    """
    _check(x, t, weight)
    cdef Py_ssize_t n = x.shape[0], c = x.shape[1], bad
    cdef nr_ce_args a
    bad = nr_ce_check_targets(<const int64_t*>cnp.PyArray_DATA(t), n, c, ignore_index)
    if bad >= 0:
        raise IndexError(f"Target {t[bad]} is out of bounds: expected a class index in [0, {c - 1}] "
                         f"(or ignore_index={ignore_index}), found at position {bad}")
    outs = [np.empty(n, x.dtype) for _ in range(5)]
    a.x = cnp.PyArray_DATA(x)
    a.t = <const int64_t*>cnp.PyArray_DATA(t)
    a.w = NULL if weight is None else cnp.PyArray_DATA(<ndarray>weight)
    a.ignore = ignore_index
    a.n = n
    a.c = c
    a.smooth = label_smoothing != 0.0
    a.ls = label_smoothing
    a.w_total = float(c) if weight is None else float((<ndarray>weight).sum(dtype=np.float64))
    a.lse = cnp.PyArray_DATA(<ndarray>outs[0])
    a.loss = cnp.PyArray_DATA(<ndarray>outs[1])
    a.nll = cnp.PyArray_DATA(<ndarray>outs[2])
    a.sm = cnp.PyArray_DATA(<ndarray>outs[3])
    a.wt = cnp.PyArray_DATA(<ndarray>outs[4])
    a.gout = NULL
    a.gx = NULL
    cdef int f64 = x.dtype == np.float64
    cdef int nt = nr_num_threads()
    if n * c > 4096:
        with nogil:
            nr_ce_run(&a, f64, 0, nt)
    else:
        nr_ce_run(&a, f64, 0, nt)
    return tuple(outs)


def cross_entropy_backward(ndarray x, ndarray t, object weight, int64_t ignore_index, ndarray lse,
                           object gout, double ca, double cb):
    """Gradient of ``sum_r gout_r * (ca * nll_r + cb * smooth_r)`` w.r.t. ``x`` (N, C).

    ``gout`` is a per-row array or None (all ones); ``lse`` comes from the forward.
    """
    _check(x, t, weight)
    cdef Py_ssize_t n = x.shape[0], c = x.shape[1]
    if lse.ndim != 1 or lse.shape[0] != n or lse.dtype != x.dtype or not lse.flags.c_contiguous:
        raise ValueError("cross_entropy kernel: lse must be a contiguous (N,) array of the logits' dtype")
    if gout is not None:
        g = <ndarray?>gout
        if g.ndim != 1 or g.shape[0] != n or g.dtype != x.dtype or not g.flags.c_contiguous:
            raise ValueError("cross_entropy kernel: gout must be a contiguous (N,) array of the logits' dtype")
    # Targets were range-checked by the forward that produced lse.
    cdef ndarray gx = np.empty((n, c), x.dtype)
    cdef nr_ce_args a
    a.x = cnp.PyArray_DATA(x)
    a.t = <const int64_t*>cnp.PyArray_DATA(t)
    a.w = NULL if weight is None else cnp.PyArray_DATA(<ndarray>weight)
    a.ignore = ignore_index
    a.n = n
    a.c = c
    a.smooth = 0
    a.ls = 0.0
    a.w_total = float(c) if weight is None else float((<ndarray>weight).sum(dtype=np.float64))
    a.lse = cnp.PyArray_DATA(lse)
    a.gout = NULL if gout is None else cnp.PyArray_DATA(<ndarray>gout)
    a.ca = ca
    a.cb = cb
    a.gx = cnp.PyArray_DATA(gx)
    cdef int f64 = x.dtype == np.float64
    cdef int nt = nr_num_threads()
    if n * c > 4096:
        with nogil:
            nr_ce_run(&a, f64, 1, nt)
    else:
        nr_ce_run(&a, f64, 1, nt)
    return gx


cdef extern from *:
    """
    /* torch's threshold_backward: 0 where y <= 0 (even for a NaN gradient), the
     * gradient elsewhere (a NaN output lets it through).  A select in plain C
     * with g loaded unconditionally: a conditional load may not be if-converted,
     * and gcc then keeps a mispredicted branch per element (~9x slower).
     * Elementwise, so the result does not depend on the thread count. */
    #define NR_RELU_BWD(NAME, T)                                                       \
    static void NAME(const T *g, const T *y, T *out, Py_ssize_t n, int threads) {      \
        Py_ssize_t i;                                                                  \
        if (threads > 1 && n >= ((Py_ssize_t)1 << 16)) {                               \
            _Pragma("omp parallel for schedule(static) num_threads(threads)")         \
            for (i = 0; i < n; i++) { T gi = g[i]; out[i] = y[i] <= 0 ? (T)0 : gi; }   \
        } else {                                                                       \
            for (i = 0; i < n; i++) { T gi = g[i]; out[i] = y[i] <= 0 ? (T)0 : gi; }   \
        }                                                                              \
    }
    NR_RELU_BWD(nr_relu_backward_f32, float)
    NR_RELU_BWD(nr_relu_backward_f64, double)
    """
    void nr_relu_backward_f32(const float *g, const float *y, float *out, Py_ssize_t n,
                              int threads) nogil
    void nr_relu_backward_f64(const double *g, const double *y, double *out, Py_ssize_t n,
                              int threads) nogil


def relu_backward(ndarray g not None, ndarray y not None, ndarray out not None):
    """``out = 0 where y <= 0 else g`` for C-contiguous float32/float64 arrays of one shape.

    Example:
        >>> import numpy as np
        >>> from neurarust._core import nn_kernels
        >>> out = np.empty(3, np.float32)
        >>> nn_kernels.relu_backward(np.array([1, 2, 3], np.float32), np.array([0, 5, -1], np.float32), out)
        >>> out.tolist()
        [0.0, 2.0, 0.0]
    """
    if not (g.flags.c_contiguous and y.flags.c_contiguous and out.flags.c_contiguous
            and out.flags.writeable):
        raise ValueError("relu_backward: g, y and out must be C-contiguous (out writeable)")
    if g.dtype != y.dtype or out.dtype != y.dtype or (y.dtype != np.float32 and y.dtype != np.float64):
        raise TypeError(f"relu_backward: g, y and out must share dtype float32 or float64; "
                        f"got {g.dtype}, {y.dtype}, {out.dtype}")
    gs, ys, os_ = (<object>g).shape, (<object>y).shape, (<object>out).shape
    if gs != ys or os_ != ys:
        raise ValueError(f"relu_backward: shapes differ: g {gs}, y {ys}, out {os_}")
    cdef Py_ssize_t n = cnp.PyArray_SIZE(y)
    cdef int threads = nr_num_threads()
    if y.dtype == np.float32:
        with nogil:
            nr_relu_backward_f32(<const float*>cnp.PyArray_DATA(g), <const float*>cnp.PyArray_DATA(y),
                                 <float*>cnp.PyArray_DATA(out), n, threads)
    else:
        with nogil:
            nr_relu_backward_f64(<const double*>cnp.PyArray_DATA(g), <const double*>cnp.PyArray_DATA(y),
                                 <double*>cnp.PyArray_DATA(out), n, threads)
