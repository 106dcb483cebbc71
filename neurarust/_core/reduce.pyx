# cython: language_level=3
"""Reduction kernels over numpy arrays: sum/prod/max/min/all/any, arg max/min,
var, cumsum/cumprod, softmax/log_softmax and logsumexp.

Every public function validates its arguments completely (TypeError for
dtypes, ValueError for shapes, axes and aliasing) before touching memory,
then runs a C driver (``include/nr_reduce_*.h``) without the GIL.  Outputs
are allocated by the caller, C-contiguous, with the reduced dims removed.
Results are bit-identical whatever the number of threads.
"""

import numpy as np

cimport numpy as cnp
from libc.stddef cimport ptrdiff_t
from libc.stdint cimport int64_t

cnp.import_array()


cdef extern from "nr_reduce_softmax.h" nogil:
    enum:
        NR_MAXDIMS
    enum:
        NR_IN_BOOL, NR_IN_I8, NR_IN_U8, NR_IN_I16, NR_IN_I32, NR_IN_I64, NR_IN_F32, NR_IN_F64
    enum:
        NR_OP_SUM, NR_OP_PROD, NR_OP_MAX, NR_OP_MIN, NR_OP_ALL, NR_OP_ANY,
        NR_OP_SUM_AS_F64, NR_OP_SQDEV, NR_OP_SUMEXP

    ctypedef struct nr_plan:
        ptrdiff_t out_count
        ptrdiff_t red_count

    ctypedef struct nr_reduce_kernel:
        pass

    ctypedef struct nr_reduce_job:
        const nr_reduce_kernel *k
        const nr_plan *p
        const char *a
        char *out
        ptrdiff_t out_itemsize
        const double *center

    ctypedef struct nr_scan_kernel:
        pass

    ctypedef struct nr_softmax_kernel:
        pass

    const nr_scan_kernel *nr_scan_table[2][8]
    const nr_softmax_kernel nr_softmax_f32
    const nr_softmax_kernel nr_softmax_f64

    void nr_plan_build(nr_plan *p, int ndim, const ptrdiff_t *shape, const ptrdiff_t *a_strides,
                       const unsigned char *reduced, const ptrdiff_t *out_strides,
                       int sort_reduced)
    const nr_reduce_kernel *nr_reduce_kernel_for(int op, int dtype)
    int nr_reduce_execute(const nr_reduce_job *job)
    void nr_var_finish(const double *m2, const double *mean, ptrdiff_t count, double divisor,
                       int is_f32, char *out, char *mean_out)
    int nr_scan_execute(const nr_scan_kernel *k, const nr_plan *p, const char *a, char *out)
    int nr_softmax_execute(const nr_softmax_kernel *k, const nr_plan *p, const char *a,
                           char *out, int log_mode)
    float nr_reduce_expf(float x)
    double nr_reduce_exp(double x)
    int nr_reduce_max_threads()
    void nr_reduce_set_threads_for_testing(int n)
    int nr_reduce_openmp_enabled()


cdef extern from "nr_reduce_arg.h" nogil:
    ctypedef struct nr_arg_kernel:
        pass

    ctypedef struct nr_arg_job:
        const nr_arg_kernel *k
        const nr_plan *p
        const char *a
        char *values
        int64_t *indices

    const nr_arg_kernel *nr_arg_table[2][8]
    int nr_arg_execute(const nr_arg_job *job)


_DTYPE_NAMES = ("bool", "int8", "uint8", "int16", "int32", "int64", "float32", "float64")
_SUPPORTED = "bool, int8, uint8, int16, int32, int64, float32, float64"
_REDUCE_OPS = {"sum": NR_OP_SUM, "prod": NR_OP_PROD, "max": NR_OP_MAX, "min": NR_OP_MIN,
               "all": NR_OP_ALL, "any": NR_OP_ANY}


# ------------------------------------------------------------ validation --

cdef int _dtype_code(cnp.ndarray x) noexcept:
    """Kernel dtype code of x, or -1 when no kernel handles its dtype."""
    cdef int t = cnp.PyArray_TYPE(x)
    cdef ptrdiff_t size = cnp.PyArray_ITEMSIZE(x)
    if cnp.PyArray_ISBYTESWAPPED(x):
        return -1
    if t == cnp.NPY_BOOL:
        return NR_IN_BOOL
    if t == cnp.NPY_UBYTE:
        return NR_IN_U8
    if t == cnp.NPY_FLOAT:
        return NR_IN_F32
    if t == cnp.NPY_DOUBLE:
        return NR_IN_F64
    if (t == cnp.NPY_BYTE or t == cnp.NPY_SHORT or t == cnp.NPY_INT or t == cnp.NPY_LONG
            or t == cnp.NPY_LONGLONG):
        if size == 1:
            return NR_IN_I8
        if size == 2:
            return NR_IN_I16
        if size == 4:
            return NR_IN_I32
        if size == 8:
            return NR_IN_I64
    return -1


cdef int _input_code(str fname, cnp.ndarray a, bint floats_only) except -1:
    cdef int code = _dtype_code(a)
    if code < 0 or (floats_only and code != NR_IN_F32 and code != NR_IN_F64):
        expected = "float32 or float64" if floats_only else _SUPPORTED
        raise TypeError(f"{fname}(): input of shape {_shape(a)} has unsupported dtype "
                        f"{a.dtype}; expected {expected} (native byte order)")
    if a.ndim > NR_MAXDIMS:
        raise ValueError(f"{fname}(): input has {a.ndim} dims; at most {NR_MAXDIMS} supported")
    return code


cdef inline tuple _shape(cnp.ndarray x):
    return (<object>x).shape


cdef cnp.ndarray _aligned(cnp.ndarray a):
    # Kernels read elements through typed pointers; an unaligned view (e.g.
    # from a byte buffer at an odd offset) is copied once instead.
    return a if cnp.PyArray_ISALIGNED(a) else a.copy()


cdef void _extent(cnp.ndarray x, char **lo, char **hi) noexcept:
    cdef char *start = cnp.PyArray_BYTES(x)
    cdef ptrdiff_t low = 0, high = cnp.PyArray_ITEMSIZE(x), step
    cdef int d
    for d in range(cnp.PyArray_NDIM(x)):
        step = (cnp.PyArray_DIMS(x)[d] - 1) * cnp.PyArray_STRIDES(x)[d]
        if step < 0:
            low += step
        else:
            high += step
    lo[0] = start + low
    hi[0] = start + high


cdef bint _overlaps(cnp.ndarray x, cnp.ndarray y) noexcept:
    cdef char *xlo
    cdef char *xhi
    cdef char *ylo
    cdef char *yhi
    if cnp.PyArray_SIZE(x) == 0 or cnp.PyArray_SIZE(y) == 0:
        return False
    _extent(x, &xlo, &xhi)
    _extent(y, &ylo, &yhi)
    return xlo < yhi and ylo < xhi


cdef str _context(str fname, cnp.ndarray a, str relation, object where):
    # Built only when raising: formatting shapes costs more than a small kernel.
    return f"{fname} of {a.dtype} input of shape {_shape(a)} {relation} {where}"


cdef int _check_out(str fname, str name, object out, tuple shape, int code,
                    cnp.ndarray a, str relation, object where) except -1:
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{fname}(): {name} must be a numpy.ndarray, got {type(out).__name__}")
    cdef cnp.ndarray arr = <cnp.ndarray>out
    if _dtype_code(arr) != code:
        raise TypeError(f"{fname}(): {name} has dtype {arr.dtype}, expected {_DTYPE_NAMES[code]} "
                        f"({_context(fname, a, relation, where)})")
    if _shape(arr) != shape:
        raise ValueError(f"{fname}(): {name} has shape {_shape(arr)}, expected {shape} "
                         f"({_context(fname, a, relation, where)})")
    problem = None
    if not cnp.PyArray_IS_C_CONTIGUOUS(arr) or not cnp.PyArray_ISALIGNED(arr):
        problem = "must be C-contiguous and aligned"
    elif not cnp.PyArray_ISWRITEABLE(arr):
        problem = "is read-only"
    elif _overlaps(a, arr):
        problem = "overlaps the input in memory"
    if problem is not None:
        raise ValueError(f"{fname}(): {name} {problem} ({_context(fname, a, relation, where)})")
    return 0


cdef tuple _axes_flags(str fname, cnp.ndarray a, tuple axes, unsigned char *flags):
    """Marks the reduced dims (an empty tuple means all) and returns the
    output shape."""
    cdef int ndim = a.ndim, d, ax
    for d in range(ndim):
        flags[d] = 0 if axes else 1
    for item in axes:
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, (int, np.integer)):
            raise ValueError(f"{fname}(): axes must be a tuple of ints, got {axes!r}")
        if not 0 <= item < ndim:
            raise ValueError(f"{fname}(): axis {item} out of range for input of shape "
                             f"{_shape(a)}; expected 0 <= axis < {ndim} (axes {axes!r})")
        ax = item
        if flags[ax]:
            raise ValueError(f"{fname}(): axis {ax} repeated in axes {axes!r}")
        flags[ax] = 1
    return tuple([a.shape[d] for d in range(ndim) if not flags[d]])


cdef int _axis_flag(str fname, cnp.ndarray a, int axis, unsigned char *flags) except -1:
    """One reduced/scanned axis; a 0-d input accepts axis 0 or -1."""
    cdef int ndim = a.ndim, d
    if ndim == 0:
        if axis != 0 and axis != -1:
            raise ValueError(f"{fname}(): axis {axis} out of range for a 0-d input; "
                             f"expected 0 or -1")
        return 0
    if not 0 <= axis < ndim:
        raise ValueError(f"{fname}(): axis {axis} out of range for input of shape {_shape(a)}; "
                         f"expected 0 <= axis < {ndim}")
    for d in range(ndim):
        flags[d] = d == axis
    return 0


cdef void _build_plan(nr_plan *plan, cnp.ndarray a, const unsigned char *flags,
                      cnp.ndarray out, bint out_has_all_dims, bint sort_reduced) noexcept:
    cdef ptrdiff_t out_strides[NR_MAXDIMS]
    cdef int d, k = 0
    for d in range(a.ndim):
        if out_has_all_dims:
            out_strides[d] = cnp.PyArray_STRIDES(out)[d]
        elif flags[d]:
            out_strides[d] = 0
        else:
            out_strides[d] = cnp.PyArray_STRIDES(out)[k]
            k += 1
    nr_plan_build(plan, a.ndim, <ptrdiff_t *>cnp.PyArray_DIMS(a),
                  <ptrdiff_t *>cnp.PyArray_STRIDES(a), flags, out_strides, sort_reduced)


cdef ptrdiff_t _reduced_count(cnp.ndarray a, const unsigned char *flags) noexcept:
    cdef ptrdiff_t n = 1
    cdef int d
    for d in range(a.ndim):
        if flags[d]:
            n *= a.shape[d]
    return n


cdef int _run_reduce(int op, int code, cnp.ndarray a, const unsigned char *flags,
                     cnp.ndarray out, const double *center) except -1:
    cdef nr_plan plan
    cdef nr_reduce_job job
    cdef int rc
    _build_plan(&plan, a, flags, out, False, True)
    job.k = nr_reduce_kernel_for(op, code)
    job.p = &plan
    job.a = cnp.PyArray_BYTES(a)
    job.out = cnp.PyArray_BYTES(out)
    job.out_itemsize = cnp.PyArray_ITEMSIZE(out)
    job.center = center
    with nogil:
        rc = nr_reduce_execute(&job)
    if rc != 0:
        raise MemoryError("reduce(): could not allocate scratch memory")
    return 0


cdef str _empty_reduction_message(str fname, cnp.ndarray a, tuple axes):
    if not axes or len(axes) == a.ndim:
        return (f"{fname}(): Expected reduction dim to be specified for input.numel() == 0 "
                f"(input shape {_shape(a)}). Specify the reduction dim with the 'dim' argument.")
    return (f"{fname}(): Expected reduction dims {axes} of input shape {_shape(a)} "
            f"to have non-zero size.")


# ----------------------------------------------------------------- public --

def reduce(str op, cnp.ndarray a not None, tuple axes not None, cnp.ndarray out not None):
    """Reduces ``a`` over ``axes`` (empty tuple: all dims) into ``out``.

    op: sum, prod, max, min, all, any.  ``out`` has a's shape without the
    reduced dims; its dtype is int64 for sum/prod of bool/integer input,
    bool for all/any, a's dtype otherwise.  Floating sums and products
    accumulate in float64 (float32 sums via short float32 partials) in a
    fixed blocked pairwise order.
    """
    if op not in _REDUCE_OPS:
        raise ValueError(f"reduce(): unknown op {op!r}; expected one of {', '.join(_REDUCE_OPS)}")
    cdef int op_code = _REDUCE_OPS[op]
    cdef int code = _input_code(op, a, False)
    cdef unsigned char flags[NR_MAXDIMS]
    cdef tuple shape = _axes_flags(op, a, axes, flags)
    cdef int out_code = code
    if op_code == NR_OP_SUM or op_code == NR_OP_PROD:
        out_code = code if code == NR_IN_F32 or code == NR_IN_F64 else NR_IN_I64
    elif op_code == NR_OP_ALL or op_code == NR_OP_ANY:
        out_code = NR_IN_BOOL
    _check_out(op, "out", out, shape, out_code, a, "over axes", axes)
    if (op_code == NR_OP_MAX or op_code == NR_OP_MIN) and _reduced_count(a, flags) == 0:
        raise ValueError(_empty_reduction_message(op, a, axes))
    _run_reduce(op_code, code, _aligned(a), flags, out, NULL)


def arg_reduce(str op, cnp.ndarray a not None, int axis, values_out,
               cnp.ndarray indices_out not None):
    """Index (int64) and optionally value of the max/min along ``axis``.

    Ties resolve to the first occurrence; NaN counts as the extreme (first
    NaN wins), like torch.  ``axis == -1`` means the flattened array (C
    order) with 0-d outputs.  ``values_out`` may be None.
    """
    if op != "max" and op != "min":
        raise ValueError(f"arg_reduce(): unknown op {op!r}; expected 'max' or 'min'")
    fname = op if values_out is not None else "arg" + op
    cdef int code = _input_code(fname, a, False)
    cdef unsigned char flags[NR_MAXDIMS]
    cdef int d
    cdef bint flatten = axis == -1 or a.ndim == 0
    cdef tuple shape
    if flatten:
        if a.ndim == 0 and axis != 0 and axis != -1:
            _axis_flag(fname, a, axis, flags)
        for d in range(a.ndim):
            flags[d] = 1
        shape = ()
    else:
        _axis_flag(fname, a, axis, flags)
        shape = tuple([a.shape[d] for d in range(a.ndim) if d != axis])
    _check_out(fname, "indices_out", indices_out, shape, NR_IN_I64, a, "along axis", axis)
    if values_out is not None:
        _check_out(fname, "values_out", values_out, shape, code, a, "along axis", axis)
        if _overlaps(<cnp.ndarray>values_out, indices_out):
            raise ValueError(f"{fname}(): values_out and indices_out overlap "
                             f"({_context(fname, a, 'along axis', axis)})")
    if _reduced_count(a, flags) == 0:
        if flatten:
            raise ValueError(f"{fname}(): Expected reduction dim to be specified for "
                             f"input.numel() == 0 (input shape {_shape(a)}).")
        raise ValueError(f"{fname}(): Expected reduction dim {axis} of input shape {_shape(a)} "
                         f"to have non-zero size.")
    a = _aligned(a)
    cdef nr_plan plan
    cdef nr_arg_job job
    cdef int rc
    _build_plan(&plan, a, flags, indices_out, False, not flatten)
    job.k = nr_arg_table[0 if op == "max" else 1][code]
    job.p = &plan
    job.a = cnp.PyArray_BYTES(a)
    job.values = cnp.PyArray_BYTES(<cnp.ndarray>values_out) if values_out is not None else NULL
    job.indices = <int64_t *>cnp.PyArray_BYTES(indices_out)
    with nogil:
        rc = nr_arg_execute(&job)
    if rc != 0:
        raise MemoryError(f"{fname}(): could not allocate scratch memory")


def var(cnp.ndarray a not None, tuple axes not None, double correction,
        cnp.ndarray out not None, mean_out=None):
    """Variance over ``axes`` (empty tuple: all), dividing by
    max(0, N - correction) like torch.var; optionally writes the mean.

    Two passes in float64 (mean, then squared deviations), each with the
    blocked pairwise order of ``reduce``.
    """
    cdef int code = _input_code("var", a, True)
    cdef unsigned char flags[NR_MAXDIMS]
    cdef tuple shape = _axes_flags("var", a, axes, flags)
    _check_out("var", "out", out, shape, code, a, "over axes", axes)
    if mean_out is not None:
        _check_out("var", "mean_out", mean_out, shape, code, a, "over axes", axes)
        if _overlaps(<cnp.ndarray>mean_out, out):
            raise ValueError(f"var(): out and mean_out overlap "
                             f"({_context('var', a, 'over axes', axes)})")
    a = _aligned(a)
    cdef ptrdiff_t n = _reduced_count(a, flags)
    cdef cnp.ndarray mean = np.empty(shape, dtype=np.float64)
    cdef cnp.ndarray m2 = np.empty(shape, dtype=np.float64)
    cdef double *mean_data = <double *>cnp.PyArray_BYTES(mean)
    cdef ptrdiff_t count = cnp.PyArray_SIZE(mean), i
    cdef double divisor = n - correction
    _run_reduce(NR_OP_SUM_AS_F64, code, a, flags, mean, NULL)
    with nogil:
        for i in range(count):
            mean_data[i] = mean_data[i] / <double>n
    _run_reduce(NR_OP_SQDEV, code, a, flags, m2, mean_data)
    if divisor < 0:
        divisor = 0
    cdef double *m2_data = <double *>cnp.PyArray_BYTES(m2)
    cdef char *out_data = cnp.PyArray_BYTES(out)
    cdef char *mean_out_data = NULL
    if mean_out is not None:
        mean_out_data = cnp.PyArray_BYTES(<cnp.ndarray>mean_out)
    with nogil:
        nr_var_finish(m2_data, mean_data, count, divisor, code == NR_IN_F32, out_data,
                      mean_out_data)


def cumulative(str op, cnp.ndarray a not None, int axis, cnp.ndarray out not None):
    """cumsum / cumprod along ``axis`` into ``out`` (a's shape; int64 for
    bool/integer input, a's dtype for floats; float32 accumulates in float64)."""
    if op != "cumsum" and op != "cumprod":
        raise ValueError(f"cumulative(): unknown op {op!r}; expected 'cumsum' or 'cumprod'")
    cdef int code = _input_code(op, a, False)
    cdef unsigned char flags[NR_MAXDIMS]
    _axis_flag(op, a, axis, flags)
    cdef int out_code = code if code == NR_IN_F32 or code == NR_IN_F64 else NR_IN_I64
    _check_out(op, "out", out, _shape(a), out_code, a, "along axis", axis)
    a = _aligned(a)
    cdef nr_plan plan
    cdef int rc
    cdef const nr_scan_kernel *kernel = nr_scan_table[0 if op == "cumsum" else 1][code]
    _build_plan(&plan, a, flags, out, True, True)
    with nogil:
        rc = nr_scan_execute(kernel, &plan, cnp.PyArray_BYTES(a), cnp.PyArray_BYTES(out))
    if rc != 0:
        raise MemoryError(f"{op}(): could not allocate scratch memory")


def softmax(cnp.ndarray a not None, int axis, cnp.ndarray out not None, bint log=False):
    """softmax (or log_softmax when ``log``) along ``axis`` into ``out``
    (a's shape and float dtype).  A line of all -inf gives NaN, like torch."""
    fname = "log_softmax" if log else "softmax"
    cdef int code = _input_code(fname, a, True)
    cdef unsigned char flags[NR_MAXDIMS]
    _axis_flag(fname, a, axis, flags)
    _check_out(fname, "out", out, _shape(a), code, a, "along axis", axis)
    a = _aligned(a)
    cdef nr_plan plan
    cdef int rc
    cdef const nr_softmax_kernel *kernel = &nr_softmax_f32 if code == NR_IN_F32 else &nr_softmax_f64
    _build_plan(&plan, a, flags, out, True, True)
    with nogil:
        rc = nr_softmax_execute(kernel, &plan, cnp.PyArray_BYTES(a), cnp.PyArray_BYTES(out), log)
    if rc != 0:
        raise MemoryError(f"{fname}(): could not allocate scratch memory")


def logsumexp(cnp.ndarray a not None, tuple axes not None, cnp.ndarray out not None):
    """log(sum(exp(a))) over ``axes`` (empty tuple: all), computed as
    max + log(sum(exp(a - max))).  All -inf gives -inf, any +inf gives +inf,
    an empty reduction gives -inf."""
    cdef int code = _input_code("logsumexp", a, True)
    cdef unsigned char flags[NR_MAXDIMS]
    cdef tuple shape = _axes_flags("logsumexp", a, axes, flags)
    _check_out("logsumexp", "out", out, shape, code, a, "over axes", axes)
    if _reduced_count(a, flags) == 0:
        out.fill(-np.inf)
        return
    a = _aligned(a)
    cdef cnp.ndarray maxes = np.empty(shape, dtype=a.dtype)
    _run_reduce(NR_OP_MAX, code, a, flags, maxes, NULL)
    cdef cnp.ndarray centers = maxes.astype(np.float64)
    _run_reduce(NR_OP_SUMEXP, code, a, flags, out, <double *>cnp.PyArray_BYTES(centers))


# ----------------------------------------------------------- test hooks --

def _set_threads_for_testing(int n):
    """Sets the OpenMP thread count the kernels use (no-op without OpenMP)."""
    nr_reduce_set_threads_for_testing(n)


def _max_threads():
    return nr_reduce_max_threads()


def _openmp_enabled():
    return bool(nr_reduce_openmp_enabled())


def _exp_for_testing(cnp.ndarray x not None):
    """Applies the kernels' own exp (float32 or float64) elementwise."""
    cdef int code = _input_code("_exp_for_testing", x, True)
    cdef cnp.ndarray src = np.ascontiguousarray(x)
    cdef cnp.ndarray dst = np.empty_like(src)
    cdef ptrdiff_t i, n = cnp.PyArray_SIZE(src)
    cdef float *sf
    cdef float *df
    cdef double *sd
    cdef double *dd
    if code == NR_IN_F32:
        sf = <float *>cnp.PyArray_BYTES(src)
        df = <float *>cnp.PyArray_BYTES(dst)
        for i in range(n):
            df[i] = nr_reduce_expf(sf[i])
    else:
        sd = <double *>cnp.PyArray_BYTES(src)
        dd = <double *>cnp.PyArray_BYTES(dst)
        for i in range(n):
            dd[i] = nr_reduce_exp(sd[i])
    return dst
