# cython: language_level=3
"""Fused normalization kernels: batch norm, layer norm and group norm.

Inputs are C-contiguous float32/float64 arrays viewed as:

* batch norm: ``(N, C, S)``, statistics per channel over N and S;
* group norm: ``(N, C, S)``, statistics per (sample, group of C/G channels);
* layer norm: ``(M, D)``, statistics per row.

Forward computes mean and variance in ONE pass (sums of values shifted by the
first element, accumulated in double: the shift keeps the variance accurate
when the mean is large), then writes ``y = (x - mean) * rstd * w + b`` in a
second pass.  Backward uses the closed form
``gx = rstd * (gh - mean(gh) - xhat * mean(gh * xhat))`` with ``gh = g * w``.
Statistics groups are independent, so they split across OpenMP threads.

Example:
    >>> import numpy as np
    >>> from neurarust._core import norm
    >>> x = np.array([[1.0, 3.0]]); y = np.empty_like(x)
    >>> mean = np.empty(1); rstd = np.empty(1)
    >>> norm.layer_norm_forward(x, None, None, mean, rstd, y, 0.0)
    >>> y.tolist(), mean.tolist(), rstd.tolist()
    ([[-1.0, 1.0]], [2.0], [1.0])
"""
cimport numpy as cnp
from cython.parallel cimport prange
from libc.math cimport sqrt
from libc.stdlib cimport calloc, free
from numpy cimport ndarray

from neurarust._core.config cimport nr_num_threads

import numpy as np

cnp.import_array()

__all__ = ["batch_norm_forward", "batch_norm_backward", "layer_norm_forward",
           "layer_norm_backward", "group_norm_forward", "group_norm_backward"]

ctypedef fused real:
    float
    double

cdef Py_ssize_t PARALLEL_MIN = 1 << 15


cdef void _stats(const real* base, Py_ssize_t chunks, Py_ssize_t stride, Py_ssize_t length,
                 double* mean, double* var) noexcept nogil:
    """Mean and biased variance of ``chunks`` runs of ``length`` values, ``stride`` apart."""
    cdef Py_ssize_t i, j
    cdef double shift = base[0], d, s = 0.0, sq = 0.0
    cdef double n = <double>(chunks * length)
    cdef const real* row
    for i in range(chunks):
        row = base + i * stride
        for j in range(length):
            d = row[j] - shift
            s += d
            sq += d * d
    mean[0] = shift + s / n
    var[0] = (sq - s * s / n) / n
    if var[0] < 0:
        var[0] = 0.0


cdef inline void* _ptr(object a):
    return NULL if a is None else cnp.PyArray_DATA(<ndarray>a)


cdef int _check(object a, str name, object dtype, object shape) except -1:
    if a is None:
        return 0
    if not isinstance(a, np.ndarray):
        raise TypeError(f"norm kernels: {name} must be a numpy array")
    cdef ndarray arr = <ndarray>a
    if not cnp.PyArray_IS_C_CONTIGUOUS(arr):
        raise ValueError(f"norm kernels: {name} must be C-contiguous")
    if arr.dtype != dtype:
        raise TypeError(f"norm kernels: {name} has dtype {arr.dtype}, expected {dtype}")
    if (<object>arr).shape != shape:
        raise ValueError(f"norm kernels: {name} has shape {(<object>arr).shape}, expected {shape}")
    return 0


cdef int _check_input(ndarray x, int ndim) except -1:
    if x.dtype != np.float32 and x.dtype != np.float64:
        raise TypeError(f"norm kernels: only float32 and float64 are supported, got {x.dtype}")
    if cnp.PyArray_NDIM(x) != ndim:
        raise ValueError(f"norm kernels: input must have {ndim} dims, got shape {(<object>x).shape}")
    _check(x, "input", x.dtype, (<object>x).shape)
    return 0


# ---------------------------------------------------------- shared pieces
cdef void _group_stats(const real* x, double* mean, double* rstd, double* var, Py_ssize_t groups,
                       Py_ssize_t chunks, Py_ssize_t stride, Py_ssize_t length,
                       Py_ssize_t group_step, double eps, int threads) noexcept nogil:
    cdef Py_ssize_t k
    for k in prange(groups, num_threads=threads, schedule="static"):
        _stats(x + k * group_step, chunks, stride, length, mean + k, var + k)
        rstd[k] = 1.0 / sqrt(var[k] + eps)


# ------------------------------------------------------------- batch norm
cdef void _bn_fwd(const real* x, const real* w, const real* b, double* mean, double* rstd,
                  double* var, real* y, Py_ssize_t N, Py_ssize_t C, Py_ssize_t S, double eps,
                  bint stats, int threads) noexcept nogil:
    cdef Py_ssize_t c, n, s
    cdef double scale, shift
    if stats:
        _group_stats(x, mean, rstd, var, C, N, C * S, S, S, eps, threads)
    for c in prange(C, num_threads=threads, schedule="static"):
        scale = rstd[c] * (w[c] if w != NULL else 1.0)
        shift = (b[c] if b != NULL else 0.0) - mean[c] * scale
        for n in range(N):
            for s in range(S):
                y[(n * C + c) * S + s] = <real>(x[(n * C + c) * S + s] * scale + shift)


cdef void _bn_bwd(const real* g, const real* x, const double* mean, const double* rstd,
                  const real* w, real* gx, real* gw, real* gb, Py_ssize_t N, Py_ssize_t C,
                  Py_ssize_t S, bint training, int threads) noexcept nogil:
    cdef Py_ssize_t c, n, s, i
    cdef double sg, sgd, m, r, k, wc, a1, a2
    cdef double M = <double>(N * S)
    for c in prange(C, num_threads=threads, schedule="static"):
        sg = 0.0
        sgd = 0.0
        m = mean[c]
        r = rstd[c]
        for n in range(N):
            for s in range(S):
                i = (n * C + c) * S + s
                sg = sg + g[i]
                sgd = sgd + g[i] * (x[i] - m)
        if gw != NULL:
            gw[c] = <real>(sgd * r)
        if gb != NULL:
            gb[c] = <real>sg
        if gx != NULL:
            wc = w[c] if w != NULL else 1.0
            k = wc * r
            if training:
                # gx = w r (g - mean(g) - xhat mean(g xhat))
                a1 = sg / M
                a2 = sgd * r * r / M
                for n in range(N):
                    for s in range(S):
                        i = (n * C + c) * S + s
                        gx[i] = <real>(k * (g[i] - a1 - (x[i] - m) * a2))
            else:
                for n in range(N):
                    for s in range(S):
                        i = (n * C + c) * S + s
                        gx[i] = <real>(k * g[i])


def batch_norm_forward(ndarray x, object weight, object bias, ndarray mean, ndarray rstd,
                       ndarray var, ndarray y, double eps, bint compute_stats):
    """``y`` = batch norm of ``x`` (N, C, S). With ``compute_stats`` the float64 ``mean``,
    ``rstd`` and biased ``var`` (C,) are written; otherwise ``mean``/``rstd`` are read."""
    _check_input(x, 3)
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], S = x.shape[2]
    _check(y, "output", x.dtype, (<object>x).shape)
    _check(weight, "weight", x.dtype, (C,))
    _check(bias, "bias", x.dtype, (C,))
    for a, name in ((mean, "mean"), (rstd, "rstd"), (var, "var")):
        _check(a, name, np.dtype(np.float64), (C,))
    if compute_stats and N * S == 0:
        raise ValueError("batch_norm: no values to compute statistics from")
    cdef int threads = nr_num_threads() if x.size >= PARALLEL_MIN else 1
    cdef void* wp = _ptr(weight)
    cdef void* bp = _ptr(bias)
    cdef bint f32 = x.dtype == np.float32
    with nogil:
        if f32:
            _bn_fwd(<float*>cnp.PyArray_DATA(x), <float*>wp, <float*>bp, <double*>cnp.PyArray_DATA(mean),
                    <double*>cnp.PyArray_DATA(rstd), <double*>cnp.PyArray_DATA(var),
                    <float*>cnp.PyArray_DATA(y), N, C, S, eps, compute_stats, threads)
        else:
            _bn_fwd(<double*>cnp.PyArray_DATA(x), <double*>wp, <double*>bp, <double*>cnp.PyArray_DATA(mean),
                    <double*>cnp.PyArray_DATA(rstd), <double*>cnp.PyArray_DATA(var),
                    <double*>cnp.PyArray_DATA(y), N, C, S, eps, compute_stats, threads)


def batch_norm_backward(ndarray g, ndarray x, ndarray mean, ndarray rstd, object weight,
                        object gx, object gw, object gb, bint training):
    """Gradients of batch norm; ``gx``/``gw``/``gb`` may be None when not needed.

    ``training`` means the statistics came from this batch (their gradient flows)."""
    _check_input(x, 3)
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], S = x.shape[2]
    _check(g, "grad", x.dtype, (<object>x).shape)
    _check(gx, "grad_input", x.dtype, (<object>x).shape)
    _check(weight, "weight", x.dtype, (C,))
    _check(gw, "grad_weight", x.dtype, (C,))
    _check(gb, "grad_bias", x.dtype, (C,))
    _check(mean, "mean", np.dtype(np.float64), (C,))
    _check(rstd, "rstd", np.dtype(np.float64), (C,))
    cdef int threads = nr_num_threads() if x.size >= PARALLEL_MIN else 1
    cdef void* wp = _ptr(weight)
    cdef void* gxp = _ptr(gx)
    cdef void* gwp = _ptr(gw)
    cdef void* gbp = _ptr(gb)
    cdef bint f32 = x.dtype == np.float32
    with nogil:
        if f32:
            _bn_bwd(<float*>cnp.PyArray_DATA(g), <float*>cnp.PyArray_DATA(x),
                    <double*>cnp.PyArray_DATA(mean), <double*>cnp.PyArray_DATA(rstd), <float*>wp,
                    <float*>gxp, <float*>gwp, <float*>gbp, N, C, S, training, threads)
        else:
            _bn_bwd(<double*>cnp.PyArray_DATA(g), <double*>cnp.PyArray_DATA(x),
                    <double*>cnp.PyArray_DATA(mean), <double*>cnp.PyArray_DATA(rstd), <double*>wp,
                    <double*>gxp, <double*>gwp, <double*>gbp, N, C, S, training, threads)


# ------------------------------------------------- group norm / layer norm
# Both normalise contiguous groups of ``length`` values; layer norm applies its
# affine per element of a row (period D == length), group norm per channel
# (period S inside a group of Cg channels).
cdef void _gn_fwd(const real* x, const real* w, const real* b, double* mean, double* rstd,
                  double* var, real* y, Py_ssize_t R, Py_ssize_t length, Py_ssize_t S,
                  Py_ssize_t channels_per_row, Py_ssize_t C, double eps, int threads) noexcept nogil:
    """R groups of ``length`` values; the affine index of element j of group r is
    ``(r % (C // channels_per_row)) * channels_per_row + j // S`` (group norm) -- with
    S == 1 and channels_per_row == length == C it is j (layer norm)."""
    cdef Py_ssize_t r, j, ch
    cdef double m, k, wc, bc
    cdef Py_ssize_t gpc = C // channels_per_row
    _group_stats(x, mean, rstd, var, R, 1, 0, length, length, eps, threads)
    for r in prange(R, num_threads=threads, schedule="static"):
        m = mean[r]
        k = rstd[r]
        for j in range(length):
            ch = (r % gpc) * channels_per_row + j // S
            wc = w[ch] if w != NULL else 1.0
            bc = b[ch] if b != NULL else 0.0
            y[r * length + j] = <real>((x[r * length + j] - m) * k * wc + bc)


cdef void _gn_bwd(const real* g, const real* x, const double* mean, const double* rstd,
                  const real* w, real* gx, real* gw, real* gb, Py_ssize_t R, Py_ssize_t length,
                  Py_ssize_t S, Py_ssize_t channels_per_row, Py_ssize_t C,
                  int threads) noexcept nogil:
    cdef Py_ssize_t r, j, ch, i
    cdef double a1, a2, gh, m, k, wc
    cdef Py_ssize_t gpc = C // channels_per_row
    cdef double* accw
    cdef double* accb
    if gx != NULL:
        for r in prange(R, num_threads=threads, schedule="static"):
            a1 = 0.0
            a2 = 0.0
            m = mean[r]
            k = rstd[r]
            for j in range(length):
                ch = (r % gpc) * channels_per_row + j // S
                gh = g[r * length + j] * (w[ch] if w != NULL else 1.0)
                a1 = a1 + gh
                a2 = a2 + gh * (x[r * length + j] - m)
            a1 = a1 / length
            a2 = a2 * k * k / length
            for j in range(length):
                i = r * length + j
                ch = (r % gpc) * channels_per_row + j // S
                wc = w[ch] if w != NULL else 1.0
                gx[i] = <real>(k * (g[i] * wc - a1 - (x[i] - m) * a2))
    if gw != NULL or gb != NULL:
        # Affine gradients sum over groups that share a channel: accumulate serially in double.
        accw = <double*>calloc(C, sizeof(double))
        accb = <double*>calloc(C, sizeof(double))
        if accw != NULL and accb != NULL:
            for r in range(R):
                m = mean[r]
                k = rstd[r]
                for j in range(length):
                    i = r * length + j
                    ch = (r % gpc) * channels_per_row + j // S
                    accw[ch] += g[i] * (x[i] - m) * k
                    accb[ch] += g[i]
            for ch in range(C):
                if gw != NULL:
                    gw[ch] = <real>accw[ch]
                if gb != NULL:
                    gb[ch] = <real>accb[ch]
        free(accw)
        free(accb)


cdef tuple _gn_geometry(ndarray x, Py_ssize_t groups, bint layer):
    if layer:
        _check_input(x, 2)
        R, D = x.shape[0], x.shape[1]
        return R, D, 1, D, D
    _check_input(x, 3)
    N, C, S = x.shape[0], x.shape[1], x.shape[2]
    if groups < 1 or C % groups:
        raise ValueError(f"group_norm: {C} channels are not divisible into {groups} groups")
    return N * groups, (C // groups) * S, S, C // groups, C


def _gn_forward(ndarray x, object weight, object bias, ndarray mean, ndarray rstd, ndarray y,
                double eps, Py_ssize_t groups, bint layer):
    R, length, S, cpr, C = _gn_geometry(x, groups, layer)
    if R * length and length == 0:
        raise ValueError("norm kernels: empty normalisation groups")
    _check(y, "output", x.dtype, (<object>x).shape)
    _check(weight, "weight", x.dtype, (C,))
    _check(bias, "bias", x.dtype, (C,))
    _check(mean, "mean", np.dtype(np.float64), (R,))
    _check(rstd, "rstd", np.dtype(np.float64), (R,))
    cdef ndarray var = np.empty(R, np.float64)
    cdef int threads = nr_num_threads() if x.size >= PARALLEL_MIN else 1
    cdef void* wp = _ptr(weight)
    cdef void* bp = _ptr(bias)
    cdef Py_ssize_t r_ = R, l_ = length, s_ = S, c_ = cpr, cc = C
    cdef bint f32 = x.dtype == np.float32
    if r_ == 0 or l_ == 0:
        return
    with nogil:
        if f32:
            _gn_fwd(<float*>cnp.PyArray_DATA(x), <float*>wp, <float*>bp, <double*>cnp.PyArray_DATA(mean),
                    <double*>cnp.PyArray_DATA(rstd), <double*>cnp.PyArray_DATA(var),
                    <float*>cnp.PyArray_DATA(y), r_, l_, s_, c_, cc, eps, threads)
        else:
            _gn_fwd(<double*>cnp.PyArray_DATA(x), <double*>wp, <double*>bp, <double*>cnp.PyArray_DATA(mean),
                    <double*>cnp.PyArray_DATA(rstd), <double*>cnp.PyArray_DATA(var),
                    <double*>cnp.PyArray_DATA(y), r_, l_, s_, c_, cc, eps, threads)


def _gn_backward(ndarray g, ndarray x, ndarray mean, ndarray rstd, object weight, object gx,
                 object gw, object gb, Py_ssize_t groups, bint layer):
    R, length, S, cpr, C = _gn_geometry(x, groups, layer)
    _check(g, "grad", x.dtype, (<object>x).shape)
    _check(gx, "grad_input", x.dtype, (<object>x).shape)
    _check(weight, "weight", x.dtype, (C,))
    _check(gw, "grad_weight", x.dtype, (C,))
    _check(gb, "grad_bias", x.dtype, (C,))
    _check(mean, "mean", np.dtype(np.float64), (R,))
    _check(rstd, "rstd", np.dtype(np.float64), (R,))
    cdef int threads = nr_num_threads() if x.size >= PARALLEL_MIN else 1
    cdef void* wp = _ptr(weight)
    cdef void* gxp = _ptr(gx)
    cdef void* gwp = _ptr(gw)
    cdef void* gbp = _ptr(gb)
    cdef Py_ssize_t r_ = R, l_ = length, s_ = S, c_ = cpr, cc = C
    cdef bint f32 = x.dtype == np.float32
    if r_ == 0 or l_ == 0:
        for a in (gw, gb):
            if a is not None:
                a[...] = 0
        return
    with nogil:
        if f32:
            _gn_bwd(<float*>cnp.PyArray_DATA(g), <float*>cnp.PyArray_DATA(x),
                    <double*>cnp.PyArray_DATA(mean), <double*>cnp.PyArray_DATA(rstd), <float*>wp,
                    <float*>gxp, <float*>gwp, <float*>gbp, r_, l_, s_, c_, cc, threads)
        else:
            _gn_bwd(<double*>cnp.PyArray_DATA(g), <double*>cnp.PyArray_DATA(x),
                    <double*>cnp.PyArray_DATA(mean), <double*>cnp.PyArray_DATA(rstd), <double*>wp,
                    <double*>gxp, <double*>gwp, <double*>gbp, r_, l_, s_, c_, cc, threads)


def layer_norm_forward(ndarray x, object weight, object bias, ndarray mean, ndarray rstd,
                       ndarray y, double eps):
    """Layer norm of each row of ``x`` (M, D); float64 ``mean``/``rstd`` (M,) are written."""
    _gn_forward(x, weight, bias, mean, rstd, y, eps, 1, True)


def layer_norm_backward(ndarray g, ndarray x, ndarray mean, ndarray rstd, object weight,
                        object gx, object gw, object gb):
    """Gradients of :func:`layer_norm_forward`; outputs may be None when not needed."""
    _gn_backward(g, x, mean, rstd, weight, gx, gw, gb, 1, True)


def group_norm_forward(ndarray x, Py_ssize_t groups, object weight, object bias, ndarray mean,
                       ndarray rstd, ndarray y, double eps):
    """Group norm of ``x`` (N, C, S); float64 ``mean``/``rstd`` (N*groups,) are written."""
    _gn_forward(x, weight, bias, mean, rstd, y, eps, groups, False)


def group_norm_backward(ndarray g, ndarray x, Py_ssize_t groups, ndarray mean, ndarray rstd,
                        object weight, object gx, object gw, object gb):
    """Gradients of :func:`group_norm_forward`; outputs may be None when not needed."""
    _gn_backward(g, x, mean, rstd, weight, gx, gw, gb, groups, False)
