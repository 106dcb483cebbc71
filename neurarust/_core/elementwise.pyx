# cython: language_level=3
"""Elementwise CPU kernels over numpy arrays (any strides, broadcasting).

Every function validates its arguments completely before touching memory,
then runs a C inner loop through the shared strided iterator
(include/nr_strided.h) with the GIL released for non-trivial sizes.

Example:
    >>> import numpy as np
    >>> from neurarust._core import elementwise as ew
    >>> a = np.arange(6, dtype=np.float32).reshape(2, 3)
    >>> out = np.empty_like(a)
    >>> ew.binary(ew.BINARY_OPS["add"], a, a[:1], out)
    >>> out[1].tolist()
    [3.0, 5.0, 7.0]
"""
cimport numpy as cnp
from numpy cimport ndarray, npy_intp

from neurarust._core.config cimport nr_num_threads
from neurarust._core.strided cimport (
    NR_MAX_DIMS, nr_inner_loop, nr_iter, nr_iter_init, nr_iter_run, nr_iter_set_operand,
    nr_iter_simplify, nr_iter_size, nr_operands_conflict,
)

import numpy as np

cnp.import_array()

cdef extern from "numpy/ndarraytypes.h":
    enum:
        NPY_HALF

cdef extern from "nr_elementwise.h" nogil:
    enum:
        NR_BOOL, NR_INT8, NR_UINT8, NR_INT16, NR_INT32, NR_INT64
        NR_FLOAT32, NR_FLOAT64, NR_FLOAT16
        NR_BINARY_NOPS, NR_UNARY_NOPS
        NR_BIN_SUB, NR_BIN_DIV, NR_BIN_FLOOR_DIVIDE, NR_BIN_REMAINDER, NR_BIN_FMOD, NR_BIN_POW
        NR_BIN_BITWISE_AND, NR_BIN_BITWISE_XOR
        NR_UN_NEG, NR_UN_BITWISE_NOT

    ctypedef struct nr_unary_params:
        double p0
        double p1

    ctypedef struct nr_nan_to_num_params:
        double nan
        double posinf
        double neginf

    int nr_binary_returns_bool(int op)
    int nr_unary_returns_bool(int op)
    nr_inner_loop nr_binary_loop_for(int op, int dtype)
    nr_inner_loop nr_unary_loop_for(int op, int dtype)
    nr_inner_loop nr_clamp_loop_for(int kind, int dtype)
    nr_inner_loop nr_lerp_loop_for(int dtype)
    nr_inner_loop nr_nan_to_num_loop_for(int dtype)
    nr_inner_loop nr_copy_loop_for(int src_dtype, int dst_dtype, int itemsize)
    nr_inner_loop nr_where_loop(int itemsize)
    nr_inner_loop nr_scan_zero_loop(int itemsize)
    nr_inner_loop nr_scan_negative_loop(int itemsize)

# Order must match the C enums (checked at import below).
_BINARY_NAMES = (
    "add", "sub", "mul", "div", "floor_divide", "remainder", "fmod", "pow",
    "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge",
    "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor",
    "threshold_backward",
)
_UNARY_NAMES = (
    "neg", "abs", "sign", "square", "reciprocal", "exp", "expm1", "log", "log1p",
    "log2", "log10", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu",
    "gelu", "gelu_tanh", "silu", "softplus", "leaky_relu", "elu", "erf",
    "floor", "ceil", "round", "trunc", "isnan", "isinf", "isfinite", "logical_not",
    "bitwise_not",
)
if len(_BINARY_NAMES) != NR_BINARY_NOPS or len(_UNARY_NAMES) != NR_UNARY_NOPS:
    raise ImportError("elementwise: op name tables are out of sync with the C kernels")

BINARY_OPS = {name: code for code, name in enumerate(_BINARY_NAMES)}
UNARY_OPS = {name: code for code, name in enumerate(_UNARY_NAMES)}
# Prebuilt so the hot path never formats strings.
_BINARY_FNAMES = tuple(f"binary({name})" for name in _BINARY_NAMES)
_UNARY_FNAMES = tuple(f"unary({name})" for name in _UNARY_NAMES)

_DTYPE_NAMES = ("bool", "int8", "uint8", "int16", "int32", "int64", "float32", "float64", "float16")

# Least elements worth a thread (cheap ops / transcendental ops), and below
# which releasing the GIL costs more than the loop (the GIL is kept there).
cdef npy_intp GRAIN_CHEAP = 65536
cdef npy_intp GRAIN_COSTLY = 8192
cdef npy_intp NOGIL_MIN = 4096

# Unary ops whose per-element cost justifies threads at GRAIN_COSTLY.
cdef bint _unary_costly[64]
for _name in ("reciprocal", "exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "rsqrt",
              "sin", "cos", "tan", "tanh", "sigmoid", "gelu", "gelu_tanh", "silu", "softplus",
              "elu", "erf"):
    _unary_costly[UNARY_OPS[_name]] = True

cdef inline int _dtype_index(ndarray a) noexcept:
    """Kernel dtype index, -1 when unsupported (incl. non-native byte order)."""
    cdef int t = cnp.PyArray_TYPE(a)
    cdef int size = <int>cnp.PyArray_ITEMSIZE(a)
    if not cnp.PyArray_ISNOTSWAPPED(a):
        return -1
    if t == cnp.NPY_BOOL:
        return NR_BOOL
    if t == cnp.NPY_FLOAT:
        return NR_FLOAT32
    if t == cnp.NPY_DOUBLE:
        return NR_FLOAT64
    if t == cnp.NPY_BYTE:
        return NR_INT8
    if t == cnp.NPY_UBYTE:
        return NR_UINT8
    if t == cnp.NPY_SHORT:
        return NR_INT16
    if t == cnp.NPY_INT or t == cnp.NPY_LONG or t == cnp.NPY_LONGLONG:
        return NR_INT32 if size == 4 else (NR_INT64 if size == 8 else -1)
    if t == NPY_HALF:
        return NR_FLOAT16
    return -1


cdef inline bint _is_signed_int(int dt) noexcept:
    return dt == NR_INT8 or dt == NR_INT16 or dt == NR_INT32 or dt == NR_INT64


cdef inline bint _is_float(int dt) noexcept:
    return dt == NR_FLOAT32 or dt == NR_FLOAT64


cdef str _describe(ndarray a):
    dt = a.dtype
    native = "" if dt.isnative else " (non-native byte order)"
    return f"{dt}{native}"


cdef int _check_dtype(str fname, str role, ndarray a, bint allow_half) except -1:
    cdef int dt = _dtype_index(a)
    if dt < 0 or (dt == NR_FLOAT16 and not allow_half):
        supported = "bool, int8, uint8, int16, int32, int64, float32, float64"
        if allow_half:
            supported += ", float16"
        raise TypeError(f"{fname}: unsupported dtype {_describe(a)} for {role}; "
                        f"expected native-order {supported}")
    return dt


cdef int _check_writeable(str fname, ndarray out) except -1:
    if not cnp.PyArray_ISWRITEABLE(out):
        raise ValueError(f"{fname}: out is read-only")
    return 0


cdef int _check_same_shape(str fname, ndarray a, ndarray out) except -1:
    cdef int d
    cdef bint same = cnp.PyArray_NDIM(a) == cnp.PyArray_NDIM(out)
    if same:
        for d in range(cnp.PyArray_NDIM(a)):
            if cnp.PyArray_DIMS(a)[d] != cnp.PyArray_DIMS(out)[d]:
                same = False
                break
    if not same:
        raise ValueError(f"{fname}: input of shape {(<object>a).shape} and out of shape {(<object>out).shape} "
                         f"must have the same shape")
    return 0


cdef inline bint _aligned(ndarray a) noexcept:
    return cnp.PyArray_ISALIGNED(a)


cdef inline bint _conflicts(ndarray out, ndarray inp) noexcept:
    return nr_operands_conflict(
        <char *>cnp.PyArray_DATA(out), cnp.PyArray_NDIM(out), cnp.PyArray_DIMS(out),
        cnp.PyArray_STRIDES(out), <int>cnp.PyArray_ITEMSIZE(out),
        <char *>cnp.PyArray_DATA(inp), cnp.PyArray_NDIM(inp), cnp.PyArray_DIMS(inp),
        cnp.PyArray_STRIDES(inp), <int>cnp.PyArray_ITEMSIZE(inp))


cdef int _set_operand(nr_iter *it, int k, ndarray arr) noexcept:
    return nr_iter_set_operand(it, k, <char *>cnp.PyArray_DATA(arr), <int>cnp.PyArray_ITEMSIZE(arr),
                               cnp.PyArray_NDIM(arr), cnp.PyArray_DIMS(arr),
                               cnp.PyArray_STRIDES(arr))


cdef int _prepare(str fname, nr_iter *it, ndarray out, list inputs, tuple roles) except -1:
    """Replaces inputs that partially overlap out by copies (in `inputs`, which
    the caller keeps alive during the run), then builds the iterator over
    (out, inputs...); ValueError when an input does not broadcast to out."""
    cdef int k, n = len(inputs)
    cdef ndarray arr
    if cnp.PyArray_NDIM(out) > NR_MAX_DIMS:
        raise ValueError(f"{fname}: at most {NR_MAX_DIMS} dims are supported, got {cnp.PyArray_NDIM(out)}")
    for k in range(n):
        if _conflicts(out, <ndarray>inputs[k]):
            inputs[k] = inputs[k].copy()
    nr_iter_init(it, n + 1, cnp.PyArray_NDIM(out), cnp.PyArray_DIMS(out))
    _set_operand(it, 0, out)
    for k in range(n):
        arr = <ndarray>inputs[k]
        if _set_operand(it, k + 1, arr) < 0:
            raise ValueError(f"{fname}: {roles[k]} of shape {(<object>arr).shape} does not "
                             f"broadcast to out of shape {(<object>out).shape}")
    nr_iter_simplify(it)
    return 0


cdef inline void _run(nr_iter *it, nr_inner_loop fn, const void *ctx, npy_intp grain) noexcept:
    cdef npy_intp size = nr_iter_size(it)
    cdef int threads = nr_num_threads()
    if size == 0:
        return
    if size < NOGIL_MIN:
        nr_iter_run(it, fn, ctx, 1, grain)
    else:
        with nogil:
            nr_iter_run(it, fn, ctx, threads, grain)


cdef bint _any_element(ndarray arr, nr_inner_loop scan):
    """Runs a scan loop (sets an int flag) over arr's own elements."""
    cdef nr_iter it
    cdef int found = 0
    nr_iter_init(&it, 1, cnp.PyArray_NDIM(arr), cnp.PyArray_DIMS(arr))
    _set_operand(&it, 0, arr)
    nr_iter_simplify(&it)
    if nr_iter_size(&it) >= NOGIL_MIN:
        with nogil:
            nr_iter_run(&it, scan, &found, 1, 1)
    else:
        nr_iter_run(&it, scan, &found, 1, 1)
    return found != 0


cdef inline ndarray _aligned_copy(ndarray a):
    return a if _aligned(a) else np.array(a, copy=True)


# ------------------------------------------------------------------ binary --

cdef str _binary_unsupported(int op, int dt):
    name = _BINARY_NAMES[op]
    dname = _DTYPE_NAMES[dt]
    if op == NR_BIN_SUB and dt == NR_BOOL:
        return ("Subtraction, the `-` operator, with two bool tensors is not supported. "
                "Use the `^` or `logical_xor()` operator instead.")
    if op == NR_BIN_DIV:
        return (f"binary(div): true division needs a float dtype, got {dname} "
                f"(promote integer inputs to float first)")
    if NR_BIN_BITWISE_AND <= op <= NR_BIN_BITWISE_XOR:
        return f"binary({name}): needs an integer or bool dtype, got {dname}"
    return f"binary({name}): not supported for dtype {dname}"


def binary(int op, ndarray a not None, ndarray b not None, ndarray out not None):
    """out = op(a, b) with numpy broadcasting of a and b to out.shape.

    a.dtype == b.dtype; out.dtype == a.dtype, or bool for comparison and
    logical ops.  out may be a or b (in place).
    """
    cdef str fname
    cdef nr_iter it
    if op < 0 or op >= NR_BINARY_NOPS:
        raise ValueError(f"binary: unknown op code {op}; see BINARY_OPS")
    fname = _BINARY_FNAMES[op]
    cdef int dt = _check_dtype(fname, "a", a, False)
    cdef int dtb = _check_dtype(fname, "b", b, False)
    cdef int dto = _check_dtype(fname, "out", out, False)
    if dt != dtb:
        raise TypeError(f"{fname}: a and b must have the same dtype, got {a.dtype} and {b.dtype}")
    cdef int want_out = NR_BOOL if nr_binary_returns_bool(op) else dt
    if dto != want_out:
        raise TypeError(f"{fname}: out must have dtype {_DTYPE_NAMES[want_out]}, got {out.dtype}")
    cdef nr_inner_loop fn = nr_binary_loop_for(op, dt)
    if fn == NULL:
        raise TypeError(_binary_unsupported(op, dt))
    _check_writeable(fname, out)
    if not (_aligned(a) and _aligned(b) and _aligned(out)):
        return _unaligned_fallback(binary, (op, _aligned_copy(a), _aligned_copy(b)), out)

    cdef list inputs = [a, b]
    _prepare(fname, &it, out, inputs, ("a", "b"))
    # Reject bad divisors / exponents before anything is written.
    if dt != NR_BOOL and dt != NR_FLOAT32 and dt != NR_FLOAT64:
        if op == NR_BIN_FLOOR_DIVIDE or op == NR_BIN_REMAINDER or op == NR_BIN_FMOD:
            if _any_element(b, nr_scan_zero_loop(<int>cnp.PyArray_ITEMSIZE(b))):
                raise ZeroDivisionError(f"{_BINARY_NAMES[op]}: integer division by zero")
        elif op == NR_BIN_POW and _is_signed_int(dt):
            if _any_element(b, nr_scan_negative_loop(<int>cnp.PyArray_ITEMSIZE(b))):
                raise ValueError("pow: integers to negative integer powers are not allowed")
    cdef npy_intp grain = GRAIN_COSTLY if (op == NR_BIN_POW or op == NR_BIN_FMOD or
                                           op == NR_BIN_REMAINDER or op == NR_BIN_FLOOR_DIVIDE) \
        else GRAIN_CHEAP
    _run(&it, fn, NULL, grain)


def _unaligned_fallback(kernel, tuple args, ndarray out):
    """Misaligned arrays (possible through numpy views of raw buffers) are
    routed through aligned temporaries; rare, so Python speed is fine."""
    if _aligned(out):
        kernel(*args, out)
        return
    tmp = np.empty((<object>out).shape, dtype=out.dtype)
    kernel(*args, tmp)
    np.copyto(out, tmp, casting="unsafe")


# ------------------------------------------------------------------- unary --

cdef str _unary_unsupported(int op, int dt):
    name = _UNARY_NAMES[op]
    dname = _DTYPE_NAMES[dt]
    if op == NR_UN_NEG and dt == NR_BOOL:
        return ("Negation, the `-` operator, on a bool tensor is not supported. If you are "
                "trying to invert a mask, use the `~` or `logical_not()` operator instead.")
    if op == NR_UN_BITWISE_NOT:
        return f"unary(bitwise_not): needs an integer or bool dtype, got {dname}"
    return (f"unary({name}): needs a float dtype (float32 or float64), got {dname}; "
            f"upcast integer inputs first")


def unary(int op, ndarray a not None, ndarray out not None, double p0=0.0, double p1=0.0):
    """out = op(a) for a and out of the same shape.

    p0/p1 parameterize softplus (beta, threshold), leaky_relu
    (negative_slope) and elu (alpha).  out.dtype == a.dtype, or bool for
    isnan/isinf/isfinite/logical_not.
    """
    cdef str fname
    cdef nr_iter it
    cdef nr_unary_params params
    if op < 0 or op >= NR_UNARY_NOPS:
        raise ValueError(f"unary: unknown op code {op}; see UNARY_OPS")
    fname = _UNARY_FNAMES[op]
    cdef int dt = _check_dtype(fname, "a", a, False)
    cdef int dto = _check_dtype(fname, "out", out, False)
    cdef int want_out = NR_BOOL if nr_unary_returns_bool(op) else dt
    if dto != want_out:
        raise TypeError(f"{fname}: out must have dtype {_DTYPE_NAMES[want_out]}, got {out.dtype}")
    cdef nr_inner_loop fn = nr_unary_loop_for(op, dt)
    if fn == NULL:
        raise TypeError(_unary_unsupported(op, dt))
    _check_same_shape(fname, a, out)
    _check_writeable(fname, out)
    if not (_aligned(a) and _aligned(out)):
        return _unaligned_fallback(lambda x, o: unary(op, x, o, p0, p1), (_aligned_copy(a),), out)
    params.p0 = p0
    params.p1 = p1
    _prepare(fname, &it, out, [a], ("a",))
    _run(&it, fn, &params, GRAIN_COSTLY if _unary_costly[op] else GRAIN_CHEAP)


def nan_to_num(ndarray a not None, ndarray out not None, double nan, double posinf, double neginf):
    """out = a with NaN, +inf and -inf replaced (float dtypes, same shape)."""
    cdef nr_iter it
    cdef nr_nan_to_num_params params
    fname = "nan_to_num"
    cdef int dt = _check_dtype(fname, "a", a, False)
    cdef int dto = _check_dtype(fname, "out", out, False)
    if not _is_float(dt):
        raise TypeError(f"nan_to_num: needs a float dtype, got {a.dtype}")
    if dto != dt:
        raise TypeError(f"nan_to_num: out must have dtype {a.dtype}, got {out.dtype}")
    _check_same_shape(fname, a, out)
    _check_writeable(fname, out)
    if not (_aligned(a) and _aligned(out)):
        return _unaligned_fallback(lambda x, o: nan_to_num(x, o, nan, posinf, neginf),
                                   (_aligned_copy(a),), out)
    params.nan = nan
    params.posinf = posinf
    params.neginf = neginf
    _prepare(fname, &it, out, [a], ("a",))
    _run(&it, nr_nan_to_num_loop_for(dt), &params, GRAIN_CHEAP)


# --------------------------------------------------- where / clamp / lerp --

def where(ndarray cond not None, ndarray a not None, ndarray b not None, ndarray out not None):
    """out = cond ? a : b, all broadcast to out.shape; cond is bool."""
    cdef nr_iter it
    fname = "where"
    cdef int dtc = _check_dtype(fname, "cond", cond, False)
    cdef int dt = _check_dtype(fname, "a", a, True)
    cdef int dtb = _check_dtype(fname, "b", b, True)
    cdef int dto = _check_dtype(fname, "out", out, True)
    if dtc != NR_BOOL:
        raise TypeError(f"where: cond must be bool, got {cond.dtype}")
    if dt != dtb or dt != dto:
        raise TypeError(f"where: a, b and out must share one dtype, got {a.dtype}, {b.dtype} "
                        f"and {out.dtype}")
    _check_writeable(fname, out)
    if not (_aligned(cond) and _aligned(a) and _aligned(b) and _aligned(out)):
        return _unaligned_fallback(where, (_aligned_copy(cond), _aligned_copy(a), _aligned_copy(b)), out)
    _prepare(fname, &it, out, [cond, a, b], ("cond", "a", "b"))
    _run(&it, nr_where_loop(<int>cnp.PyArray_ITEMSIZE(out)), NULL, GRAIN_CHEAP)


def clamp(ndarray a not None, lo, hi, ndarray out not None):
    """out = min(max(a, lo), hi); lo/hi are arrays of a.dtype or None.

    NaN in a, lo or hi propagates; lo > hi gives hi (torch semantics).
    """
    cdef nr_iter it
    fname = "clamp"
    cdef int dt = _check_dtype(fname, "a", a, False)
    cdef int dto = _check_dtype(fname, "out", out, False)
    if dto != dt:
        raise TypeError(f"clamp: out must have dtype {a.dtype}, got {out.dtype}")
    if lo is None and hi is None:
        raise ValueError("clamp: at least one of lo or hi must not be None")
    for role, bound in (("lo", lo), ("hi", hi)):
        if bound is None:
            continue
        if not isinstance(bound, np.ndarray):
            raise TypeError(f"clamp: {role} must be a numpy array or None, got {type(bound).__name__}")
        if _check_dtype(fname, role, bound, False) != dt:
            raise TypeError(f"clamp: {role} must have dtype {a.dtype}, got {bound.dtype}")
    _check_writeable(fname, out)
    if not (_aligned(a) and _aligned(out) and (lo is None or _aligned(lo)) and
            (hi is None or _aligned(hi))):
        return _unaligned_fallback(
            clamp, (_aligned_copy(a), None if lo is None else _aligned_copy(lo),
                    None if hi is None else _aligned_copy(hi)), out)
    cdef int kind
    if lo is not None and hi is not None:
        inputs = [a, lo, hi]
        kind = 2
        roles = ("a", "lo", "hi")
    else:
        inputs = [a, lo if lo is not None else hi]
        kind = 0 if lo is not None else 1
        roles = ("a", "lo" if lo is not None else "hi")
    _prepare(fname, &it, out, inputs, roles)
    _run(&it, nr_clamp_loop_for(kind, dt), NULL, GRAIN_CHEAP)


def lerp(ndarray start not None, ndarray end not None, ndarray weight not None,
         ndarray out not None):
    """out = start + weight * (end - start) (torch's two-sided formula), floats."""
    cdef nr_iter it
    fname = "lerp"
    cdef int dt = _check_dtype(fname, "start", start, False)
    if not _is_float(dt):
        raise TypeError(f"lerp: needs a float dtype, got {start.dtype}")
    if (_check_dtype(fname, "end", end, False) != dt or
            _check_dtype(fname, "weight", weight, False) != dt or
            _check_dtype(fname, "out", out, False) != dt):
        raise TypeError(f"lerp: start, end, weight and out must share one dtype, got "
                        f"{start.dtype}, {end.dtype}, {weight.dtype} and {out.dtype}")
    _check_writeable(fname, out)
    if not (_aligned(start) and _aligned(end) and _aligned(weight) and _aligned(out)):
        return _unaligned_fallback(
            lerp, (_aligned_copy(start), _aligned_copy(end), _aligned_copy(weight)), out)
    _prepare(fname, &it, out, [start, end, weight], ("start", "end", "weight"))
    _run(&it, nr_lerp_loop_for(dt), NULL, GRAIN_CHEAP)


# -------------------------------------------------------------------- copy --

def copy(ndarray src not None, ndarray dst not None):
    """dst[...] = src, broadcasting src to dst.shape and converting dtypes.

    Supports bool, int8, uint8, int16, int32, int64, float16, float32,
    float64 in any pair.  src and dst may share memory.
    """
    cdef nr_iter it
    fname = "copy"
    cdef int ds = _check_dtype(fname, "src", src, True)
    cdef int dd = _check_dtype(fname, "dst", dst, True)
    _check_writeable(fname, dst)
    if not (_aligned(src) and _aligned(dst)):
        return _unaligned_fallback(copy, (_aligned_copy(src),), dst)
    _prepare(fname, &it, dst, [src], ("src",))
    _run(&it, nr_copy_loop_for(ds, dd, <int>cnp.PyArray_ITEMSIZE(dst)), NULL, GRAIN_CHEAP)
