"""Elementwise kernel templates: copy/cast, fill, and the ``ew_unary``, ``ew_binary`` and
``ew_select`` (where, clamp, lerp, nan_to_num) families.

copy/fill keys are ``(dtype..., layout)`` where layout is ``"contig"`` (every
operand C-contiguous with the output's shape: one flat grid-stride loop) or
``"strided"`` (shape and strides as scalar arguments, ``nr_offset`` per
operand; broadcasting is a zero stride).  The op families key one module per
``(dtype, "flat" | "strided")`` (see below); each op's formula is the CPU
kernel's (``neurarust/_core/include/nr_elementwise_*.h``).
"""
from __future__ import annotations

from ..codegen import CTYPE, DTYPES, KernelFamily, kernel_name, layout_locals, layout_params, register_family

LAYOUTS = ("contig", "strided")


def _copy(key: tuple) -> str:
    dst, src, layout = key
    name = kernel_name("copy", "cast", dst, src, layout)
    to, frm = CTYPE[dst], CTYPE[src]
    # A bool byte is read as unsigned char: any non-zero byte (reachable through
    # byte views) means true, as on the CPU, where reading it as C++ bool is undefined.
    load_t = "unsigned char" if src == "bool" else frm
    read = "(({}) != 0)" if src == "bool" else "{}"
    conv = f"nr_cast<{to}, {frm}>"
    if layout == "contig":
        value = conv + "(" + read.format("a[i]") + ")"
        return f"""
extern "C" __global__ void {name}({to}* __restrict__ out, const {load_t}* __restrict__ a, i64 n) {{
  for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)
    out[i] = {value};
}}
"""
    value = conv + "(" + read.format("a[nr_offset(i, ndim, shape, a_stride)]") + ")"
    return f"""
extern "C" __global__ void {name}({to}* out, const {load_t}* a, i64 n, {layout_params(("o", "a"))}) {{
  {layout_locals(("o", "a"))}
  for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)
    out[nr_offset(i, ndim, shape, o_stride)] = {value};
}}
"""


def _fill(key: tuple) -> str:
    dtype, layout = key
    name = kernel_name("fill", "value", dtype, layout)
    ct = CTYPE[dtype]
    # The value arrives as a double (or int64 for integers and bool) and is cast once.
    arg = "double" if dtype.startswith("float") else "long long"
    if layout == "contig":
        return f"""
extern "C" __global__ void {name}({ct}* __restrict__ out, {arg} value, i64 n) {{
  const {ct} v = nr_cast<{ct}, {arg}>(value);
  for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)
    out[i] = v;
}}
"""
    return f"""
extern "C" __global__ void {name}({ct}* out, {arg} value, i64 n, {layout_params(("o",))}) {{
  {layout_locals(("o",))}
  const {ct} v = nr_cast<{ct}, {arg}>(value);
  for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)
    out[nr_offset(i, ndim, shape, o_stride)] = v;
}}
"""


register_family(KernelFamily(
    "copy", _copy, lambda: [(d, s, lay) for d in DTYPES for s in DTYPES for lay in LAYOUTS]))
register_family(KernelFamily("fill", _fill, lambda: [(d, lay) for d in DTYPES for lay in LAYOUTS]))


# ----------------------------------------------------------------------------
# unary / binary / select (where, clamp, lerp, nan_to_num)
#
# One module per (dtype, "flat" | "strided") and family, holding every op of
# that family for the dtype (few compiles).  "flat" kernels serve operands
# that are C-contiguous with the output's size (and, for binary, a scalar
# operand taken by value or read once from a 1-element array); "strided"
# kernels take the launch.strided_launch layout.  bool is stored and read as
# unsigned char so that any nonzero byte is true, as on the CPU.
# float16 has no arithmetic kernels (the ops compute it in float32, the CPU
# backend rejects it too); only where moves float16 values.

NUMERIC = ("bool", "uint8", "int8", "int16", "int32", "int64", "float32", "float64")
EW_LAYOUTS = ("flat", "strided")
STORE = dict(CTYPE, bool="unsigned char")
# Type of a scalar passed by value (pycuda format char): ints and bool travel as int64.
VALUE_TYPE = {d: ("float" if d in ("float32", "float16") else "double" if d == "float64" else "long long")
              for d in DTYPES}
VALUE_FORMAT = {d: {"float": "f", "double": "d", "long long": "q"}[t] for d, t in VALUE_TYPE.items()}


def kind_of(dtype: str) -> str:
    """The op-table column of a dtype: b(ool), u(int8), s(igned int), f(loat), h(alf: no arithmetic).

    Example:
        >>> [kind_of(d) for d in ("bool", "uint8", "int16", "float64")]
        ['b', 'u', 's', 'f']
    """
    return {"bool": "b", "uint8": "u", "float32": "f", "float64": "f", "float16": "h"}.get(dtype, "s")


# Expressions over x (and y), T the storage type, U a wide unsigned type (integer
# arithmetic wraps instead of overflowing), F the math suffix (f for float).
_ROUND_ID = dict(s="x", u="x", b="x != 0")
UNARY = {
    "neg": dict(s="(T)((U)0 - (U)x)", u="(T)(0u - (unsigned int)x)", f="-x"),
    "abs": dict(s="x < 0 ? (T)((U)0 - (U)x) : x", u="x", b="x != 0", f="fabsF(x)"),
    "sign": dict(s="(T)((x > 0) - (x < 0))", u="(T)(x > 0)", b="x != 0", f="(T)(((T)0 < x) - (x < (T)0))"),
    "square": dict(s="(T)((U)x * (U)x)", u="(T)((unsigned int)x * x)", b="x != 0", f="x * x"),
    "reciprocal": dict(f="(T)1 / x"),
    "exp": dict(f="expF(x)"), "expm1": dict(f="expm1F(x)"), "log": dict(f="logF(x)"),
    "log1p": dict(f="log1pF(x)"), "log2": dict(f="log2F(x)"), "log10": dict(f="log10F(x)"),
    "sqrt": dict(f="sqrtF(x)"), "rsqrt": dict(f="(T)1 / sqrtF(x)"),
    "sin": dict(f="sinF(x)"), "cos": dict(f="cosF(x)"), "tan": dict(f="tanF(x)"), "tanh": dict(f="tanhF(x)"),
    "sigmoid": dict(f="nr_sigmoid(x)"),
    # NaN <= 0 is false: relu keeps NaN.
    "relu": dict(s="x < 0 ? (T)0 : x", u="x", b="x != 0", f="x <= (T)0 ? (T)0 : x"),
    "gelu": dict(f="(T)0.5 * x * ((T)1 + erfF(x * (T)0.70710678118654752440))"),
    "gelu_tanh": dict(f="(T)0.5 * x * ((T)1 + tanhF((T)0.79788456080286535588 * (x + (T)0.044715 * x * x * x)))"),
    "silu": dict(f="x * nr_sigmoid(x)"),
    # torch: linear once beta * x exceeds the threshold (p0 = beta, p1 = threshold).
    "softplus": dict(f="x * q0 > q1 ? x : log1pF(expF(x * q0)) / q0"),
    "leaky_relu": dict(f="x > (T)0 ? x : x * q0"),
    "elu": dict(f="x > (T)0 ? x : q0 * expm1F(x)"),
    "erf": dict(f="erfF(x)"),
    "floor": dict(_ROUND_ID, f="floorF(x)"), "ceil": dict(_ROUND_ID, f="ceilF(x)"),
    # rint rounds half to even (the default rounding mode), like torch.round.
    "round": dict(_ROUND_ID, f="rintF(x)"), "trunc": dict(_ROUND_ID, f="truncF(x)"),
    "isnan": dict(s="false", u="false", b="false", f="x != x"),
    "isinf": dict(s="false", u="false", b="false", f="fabsF(x) == nr_inf(x)"),
    "isfinite": dict(s="true", u="true", b="true", f="fabsF(x) < nr_inf(x)"),
    "logical_not": dict(s="x == 0", u="x == 0", b="x == 0", f="x == (T)0"),
    "bitwise_not": dict(s="(T)~x", u="(T)~x", b="x == 0"),
}
UNARY_BOOL = frozenset({"isnan", "isinf", "isfinite", "logical_not"})


def _numeric(expr):
    return dict(s=expr, u=expr, f=expr)


def _int(expr):
    return dict(s=expr, u=expr)


def _with_bool(table, expr):
    return dict(table, b=expr)


_NB = "(x != 0) {} (y != 0)"
BINARY = {
    "add": dict(_int("(T)((U)x + (U)y)"), f="x + y", b=_NB.format("|")),
    "sub": dict(_int("(T)((U)x - (U)y)"), f="x - y"),
    "mul": dict(_int("(T)((U)x * (U)y)"), f="x * y", b=_NB.format("&")),
    "div": dict(f="x / y"),
    "floor_divide": _numeric("nr_floordiv(x, y)"),
    "remainder": _numeric("nr_remainder(x, y)"),
    "fmod": dict(_int("nr_fmod(x, y)"), f="fmodF(x, y)"),
    "pow": dict(_int("nr_pow(x, y)"), f="nr_pow(x, y)"),
    "maximum": dict(_int("x > y ? x : y"), f="nr_maximum(x, y)", b=_NB.format("|")),
    "minimum": dict(_int("x < y ? x : y"), f="nr_minimum(x, y)", b=_NB.format("&")),
    **{op: _with_bool(_numeric(f"x {sym} y"), _NB.format(sym))
       for op, sym in (("eq", "=="), ("ne", "!="), ("lt", "<"), ("le", "<="), ("gt", ">"), ("ge", ">="))},
    **{op: _with_bool(_numeric(_NB.format(sym)), _NB.format(sym))
       for op, sym in (("logical_and", "&"), ("logical_or", "|"), ("logical_xor", "^"))},
    **{op: _with_bool(_int(f"(T)(x {sym} y)"), _NB.format(sym))
       for op, sym in (("bitwise_and", "&"), ("bitwise_or", "|"), ("bitwise_xor", "^"))},
    # relu's gradient: the incoming grad (x) where relu's output (y) > 0; NaN passes.
    "threshold_backward": _numeric("y <= 0 ? (T)0 : x"),
}
BINARY_BOOL = frozenset({"eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor"})


def unary_supports(op: str, dtype: str) -> bool:
    """Whether unary ``op`` has a kernel for ``dtype`` (exactly when the CPU kernels have one).

    Example:
        >>> unary_supports("exp", "float32"), unary_supports("exp", "int64")
        (True, False)
    """
    return kind_of(dtype) in UNARY[op]


def binary_supports(op: str, dtype: str) -> bool:
    """Whether binary ``op`` has a kernel for ``dtype``.

    Example:
        >>> binary_supports("bitwise_and", "bool"), binary_supports("div", "int32")
        (True, False)
    """
    return kind_of(dtype) in BINARY[op]


def _expr(table: dict, op: str, dtype: str) -> str:
    ct = STORE[dtype]
    wide = "unsigned long long" if dtype == "int64" else "unsigned int"
    e = table[op][kind_of(dtype)]
    e = e.replace("F(", "f(" if dtype == "float32" else "(")
    e = e.replace("(T)", f"({ct})").replace("(U)", f"({wide})")
    return e


EW_HELPERS = r"""
#ifndef NR_EW_HELPERS
#define NR_EW_HELPERS
template <typename T, int N> struct alignas(sizeof(T) * N) NrVec { T v[N]; };
template <int B> __device__ __forceinline__ bool nr_aligned(const void* p) {
  return (reinterpret_cast<unsigned long long>(p) & (B - 1)) == 0;
}
#define NR_TID (blockIdx.x * (i64)blockDim.x + threadIdx.x)
#define NR_STEP ((i64)gridDim.x * blockDim.x)

// out[i] = f(a[i]) for i < n: 16-byte vector loads/stores when both pointers
// allow them, a scalar tail.  out may be a (each element is read before the
// same thread writes it), so no __restrict__.
template <typename TI, typename TO, typename Fn>
__device__ __forceinline__ void nr_map1(TO* out, const TI* a, i64 n, Fn f) {
  constexpr int N = 16 / (sizeof(TI) > sizeof(TO) ? sizeof(TI) : sizeof(TO));
  const i64 tid = NR_TID, step = NR_STEP;
  i64 done = 0;
  if (nr_aligned<N * sizeof(TI)>(a) && nr_aligned<N * sizeof(TO)>(out)) {
    const i64 nv = n / N;
    for (i64 v = tid; v < nv; v += step) {
      const NrVec<TI, N> x = reinterpret_cast<const NrVec<TI, N>*>(a)[v];
      NrVec<TO, N> y;
#pragma unroll
      for (int k = 0; k < N; ++k) y.v[k] = f(x.v[k]);
      reinterpret_cast<NrVec<TO, N>*>(out)[v] = y;
    }
    done = nv * N;
  }
  for (i64 i = done + tid; i < n; i += step) out[i] = f(a[i]);
}

// out[i] = f(a[i], b[i]), vectorized like nr_map1.
template <typename TI, typename TO, typename Fn>
__device__ __forceinline__ void nr_map2(TO* out, const TI* a, const TI* b, i64 n, Fn f) {
  constexpr int N = 16 / (sizeof(TI) > sizeof(TO) ? sizeof(TI) : sizeof(TO));
  const i64 tid = NR_TID, step = NR_STEP;
  i64 done = 0;
  if (nr_aligned<N * sizeof(TI)>(a) && nr_aligned<N * sizeof(TI)>(b) && nr_aligned<N * sizeof(TO)>(out)) {
    const i64 nv = n / N;
    for (i64 v = tid; v < nv; v += step) {
      const NrVec<TI, N> x = reinterpret_cast<const NrVec<TI, N>*>(a)[v];
      const NrVec<TI, N> y = reinterpret_cast<const NrVec<TI, N>*>(b)[v];
      NrVec<TO, N> r;
#pragma unroll
      for (int k = 0; k < N; ++k) r.v[k] = f(x.v[k], y.v[k]);
      reinterpret_cast<NrVec<TO, N>*>(out)[v] = r;
    }
    done = nv * N;
  }
  for (i64 i = done + tid; i < n; i += step) out[i] = f(a[i], b[i]);
}

__device__ __forceinline__ float nr_inf(float) { return __int_as_float(0x7f800000); }
__device__ __forceinline__ double nr_inf(double) { return __longlong_as_double(0x7ff0000000000000LL); }

// Integer helpers (the CPU kernels' semantics): Python floor division and
// remainder, C fmod; y == 0 never reaches them (the host checks divisors
// first) and returns 0; y == -1 is special-cased because INT_MIN / -1
// overflows.  Arithmetic goes through a wide unsigned type so it wraps.
template <typename T> struct NrWide { typedef unsigned int type; };
template <> struct NrWide<long long> { typedef unsigned long long type; };
template <typename T> __device__ __forceinline__ bool nr_neg(T v) { return v < (T)0; }
template <> __device__ __forceinline__ bool nr_neg<unsigned char>(unsigned char) { return false; }
template <typename T> __device__ __forceinline__ bool nr_minus_one(T y) { return nr_neg(y) && y == (T)-1; }
template <typename T> __device__ __forceinline__ T nr_floordiv(T x, T y) {
  typedef typename NrWide<T>::type U;
  if (y == 0) return 0;
  if (nr_minus_one(y)) return (T)((U)0 - (U)x);
  const T q = (T)(x / y), r = (T)(x % y);
  return (r != 0 && nr_neg(r) != nr_neg(y)) ? (T)(q - 1) : q;
}
template <typename T> __device__ __forceinline__ T nr_remainder(T x, T y) {
  if (y == 0 || nr_minus_one(y)) return 0;
  const T r = (T)(x % y);
  return (r != 0 && nr_neg(r) != nr_neg(y)) ? (T)(r + y) : r;
}
template <typename T> __device__ __forceinline__ T nr_fmod(T x, T y) {
  if (y == 0 || nr_minus_one(y)) return 0;
  return (T)(x % y);
}
// Negative exponents are rejected by the host for signed types; this arm
// mirrors torch's rule so the function is total anyway.
template <typename T> __device__ __forceinline__ T nr_pow(T base, T e) {
  typedef typename NrWide<T>::type U;
  if (nr_neg(e)) return base == 1 ? (T)1 : (base == (T)-1 ? ((e & 1) ? (T)-1 : (T)1) : (T)0);
  U result = 1, b = (U)base;
  while (e) {
    if (e & 1) result *= b;
    b *= b;
    e = (T)(e >> 1);
  }
  return (T)result;
}
template <typename T> __device__ __forceinline__ T nr_maxp(T x, T y) { return x != x ? x : (y != y ? y : (x < y ? y : x)); }
template <typename T> __device__ __forceinline__ T nr_minp(T x, T y) { return x != x ? x : (y != y ? y : (x > y ? y : x)); }
""" + "".join(r"""
// Python/torch floor division for floats: the quotient comes from fmod so
// q * b + r == a holds as closely as possible.
__device__ __forceinline__ T nr_floordiv(T a, T b) {
  if (b == (T)0) return a / b;
  const T mod = fmodF(a, b);
  T div = (a - mod) / b;
  if (mod != (T)0 && ((b < (T)0) != (mod < (T)0))) div -= (T)1;
  if (div == (T)0) return copysignF((T)0, a / b);
  const T fl = floorF(div);
  return (div - fl > (T)0.5) ? fl + (T)1 : fl;
}
__device__ __forceinline__ T nr_remainder(T a, T b) {
  const T mod = fmodF(a, b);
  return (mod != (T)0 && ((b < (T)0) != (mod < (T)0))) ? mod + b : mod;
}
// x * x is the correctly rounded x ** 2.
__device__ __forceinline__ T nr_pow(T x, T y) { return y == (T)2 ? x * x : powF(x, y); }
__device__ __forceinline__ T nr_maximum(T a, T b) { return a != a ? a : (b != b ? b : (a > b ? a : b)); }
__device__ __forceinline__ T nr_minimum(T a, T b) { return a != a ? a : (b != b ? b : (a < b ? a : b)); }
// e^-|x| never overflows, and e / (1 + e) keeps full accuracy for very negative x.
__device__ __forceinline__ T nr_sigmoid(T x) {
  const T e = expF(-fabsF(x));
  const T r = (T)1 / ((T)1 + e);
  return x >= (T)0 ? r : e * r;
}
""".replace("T", t).replace("F(", sfx + "(") for t, sfx in (("float", "f"), ("double", ""))) + "#endif\n"


def strided_loop(names, body: str) -> str:
    """A grid-stride loop over n items computing ``off_<name>`` per operand from the layout locals.

    Index arithmetic is 32-bit when n fits (a 64-bit divide costs several
    times more and runs once per dim per element); the 64-bit loop, for the
    rare > 2^31-element launch, is not unrolled, which keeps modules small.

    Example:
        >>> "off_a += ci * a_stride[d];" in strided_loop(("o", "a"), "out[off_o] = a[off_a];")
        True
    """
    decl = " ".join(f"i64 off_{nm} = 0;" for nm in names)
    acc = " ".join(f"off_{nm} += ci * {nm}_stride[d];" for nm in names)

    def loop(ix: str) -> str:
        return f"""
    for ({ix} i = ({ix})NR_TID; i < ({ix})n; i += ({ix})NR_STEP) {{
      {ix} ri = i; {decl}
#pragma unroll {"" if ix == "unsigned int" else "1"}
      for (int d = NR_MAXD - 1; d >= 0; --d) {{
        if (d < ndim) {{ const {ix} mi = ({ix})shape[d]; const {ix} qi = ri / mi; const i64 ci = (i64)(ri - qi * mi); {acc} ri = qi; }}
      }}
      {body}
    }}"""
    return f"if (n <= 0x7fffffffLL) {{{loop('unsigned int')}\n  }} else {{{loop('i64')}\n  }}"


def _params_decl(expr: str, ct: str) -> str:
    """p0/p1 (doubles) converted once to the compute type, only when the op uses them."""
    return " ".join(f"const {ct} q{k} = ({ct})p{k};" for k in (0, 1) if f"q{k}" in expr)


def _unary(key: tuple) -> str:
    dtype, layout = key
    ct = STORE[dtype]
    parts = []
    for op in UNARY:
        if not unary_supports(op, dtype):
            continue
        expr = _expr(UNARY, op, dtype)
        to = "unsigned char" if op in UNARY_BOOL else ct
        fn = f"[=](const {ct} x) -> {to} {{ return ({to})({expr}); }}"
        prm = _params_decl(expr, ct)
        if layout == "flat":
            parts.append(f"""
extern "C" __global__ void {kernel_name("unary", op, dtype, "contig")}({to}* out, const {ct}* a, double p0, double p1, i64 n) {{
  {prm}
  nr_map1(out, a, n, {fn});
}}""")
        else:
            parts.append(f"""
extern "C" __global__ void {kernel_name("unary", op, dtype, "strided")}({to}* out, const {ct}* a, double p0, double p1, i64 n, {layout_params(("o", "a"))}) {{
  {layout_locals(("o", "a"))}
  {prm}
  const auto f = {fn};
  {strided_loop(("o", "a"), "out[off_o] = f(a[off_a]);")}
}}""")
    return "\n".join(parts) + "\n"


def _binary(key: tuple) -> str:
    dtype, layout = key
    ct, vt = STORE[dtype], VALUE_TYPE[dtype]
    parts = []
    for op in BINARY:
        if not binary_supports(op, dtype):
            continue
        expr = _expr(BINARY, op, dtype)
        to = "unsigned char" if op in BINARY_BOOL else ct
        if layout == "flat":
            # scalar: one operand is a value (or a 1-element array read once), side
            # says which: 0 -> it is a, 1 -> it is b.
            parts.append(f"""
extern "C" __global__ void {kernel_name("binary", op, dtype, "contig")}({to}* out, const {ct}* a, const {ct}* b, i64 n) {{
  nr_map2(out, a, b, n, [](const {ct} x, const {ct} y) -> {to} {{ return ({to})({expr}); }});
}}
extern "C" __global__ void {kernel_name("binary", op, dtype, "scalar")}({to}* out, const {ct}* v, const {ct}* sp, {vt} sv, int side, i64 n) {{
  const {ct} s = sp ? *sp : nr_cast<{ct}, {vt}>(sv);
  const bool s_is_a = side == 0;
  nr_map1(out, v, n, [=](const {ct} e) -> {to} {{ const {ct} x = s_is_a ? s : e, y = s_is_a ? e : s; return ({to})({expr}); }});
}}""")
        else:
            parts.append(f"""
extern "C" __global__ void {kernel_name("binary", op, dtype, "strided")}({to}* out, const {ct}* a, const {ct}* b, {vt} av, {vt} bv, int by_value, i64 n, {layout_params(("o", "a", "b"))}) {{
  {layout_locals(("o", "a", "b"))}
  const {ct} va = nr_cast<{ct}, {vt}>(av), vb = nr_cast<{ct}, {vt}>(bv);
  const bool a_val = by_value & 1, b_val = by_value & 2;
  const auto f = [](const {ct} x, const {ct} y) -> {to} {{ return ({to})({expr}); }};
  {strided_loop(("o", "a", "b"), "out[off_o] = f(a_val ? va : a[off_a], b_val ? vb : b[off_b]);")}
}}""")
    if kind_of(dtype) in "su":
        # Divisor / exponent checks: set *flag when an element of b is zero (negative).
        for check, test in (("anyzero", "v == 0"), ("anynegative", "v < 0")):
            if check == "anynegative" and dtype == "uint8":
                continue
            name = kernel_name("binary", check, dtype, "contig" if layout == "flat" else "strided")
            if layout == "flat":
                parts.append(f"""
extern "C" __global__ void {name}(const {ct}* b, int* flag, i64 n) {{
  for (i64 i = NR_TID; i < n; i += NR_STEP) {{ const {ct} v = b[i]; if ({test}) *flag = 1; }}
}}""")
            else:
                parts.append(f"""
extern "C" __global__ void {name}(const {ct}* b, int* flag, i64 n, {layout_params(("b",))}) {{
  {layout_locals(("b",))}
  {strided_loop(("b",), f"const {ct} v = b[off_b]; if ({test}) *flag = 1;")}
}}""")
    return "\n".join(parts) + "\n"


def _select(key: tuple) -> str:
    """where (every dtype), clamp (not float16), lerp and nan_to_num (float32/64)."""
    dtype, layout = key
    ct, vt = STORE[dtype], VALUE_TYPE[dtype]
    flat = layout == "flat"
    parts = []

    def kernel(op, params, operands, prologue, body):
        lay = "contig" if flat else "strided"
        sig = f"{params}, i64 n" + ("" if flat else ", " + layout_params(operands))
        locs = "" if flat else layout_locals(operands)
        if flat:
            idx = {nm: "i" for nm in operands}
            loop = "for (i64 i = NR_TID; i < n; i += NR_STEP) {\n    " + body.format(**idx) + "\n  }"
        else:
            loop = strided_loop(operands, body.format(**{nm: f"off_{nm}" for nm in operands}))
        parts.append(f"""
extern "C" __global__ void {kernel_name("select", op, dtype, lay)}({sig}) {{
  {locs}
  {prologue}
  {loop}
}}""")

    # by_value bit k set: input k is the value argument, its pointer is not read.
    kernel("where", f"{ct}* out, const unsigned char* cond, const {ct}* a, const {ct}* b, {vt} av, {vt} bv, int by_value",
           ("o", "c", "a", "b"),
           f"const {ct} va = nr_cast<{ct}, {vt}>(av), vb = nr_cast<{ct}, {vt}>(bv);\n"
           f"  const bool a_val = by_value & 1, b_val = by_value & 2;",
           "out[{o}] = cond[{c}] ? (a_val ? va : a[{a}]) : (b_val ? vb : b[{b}]);")
    if dtype == "float16":
        return "\n".join(parts) + "\n"
    # mode: bits 0-1 for lo, 2-3 for hi: 0 absent, 1 array, 2 value.
    kernel("clamp", f"{ct}* out, const {ct}* a, const {ct}* lo, const {ct}* hi, {vt} lv, {vt} hv, int mode",
           ("o", "a", "l", "h"),
           f"const {ct} vl = nr_cast<{ct}, {vt}>(lv), vh = nr_cast<{ct}, {vt}>(hv);\n"
           f"  const int lo_mode = mode & 3, hi_mode = (mode >> 2) & 3;",
           f"{ct} x = a[{{a}}];\n"
           f"    if (lo_mode) x = nr_maxp(x, lo_mode == 2 ? vl : lo[{{l}}]);\n"
           f"    if (hi_mode) x = nr_minp(x, hi_mode == 2 ? vh : hi[{{h}}]);\n"
           f"    out[{{o}}] = x;")
    if kind_of(dtype) != "f":
        return "\n".join(parts) + "\n"
    # torch's lerp: the formula switches at |weight| 0.5 so both ends are exact.
    kernel("lerp", f"{ct}* out, const {ct}* start, const {ct}* end, const {ct}* weight, {vt} sv, {vt} ev, {vt} wv, "
           "int by_value", ("o", "s", "e", "w"),
           "const bool s_val = by_value & 1, e_val = by_value & 2, w_val = by_value & 4;",
           f"const {ct} s = s_val ? sv : start[{{s}}], e = e_val ? ev : end[{{e}}], w = w_val ? wv : weight[{{w}}];\n"
           f"    out[{{o}}] = (w < ({ct})0 ? -w : w) < ({ct})0.5 ? s + w * (e - s) : e - (e - s) * (({ct})1 - w);")
    nan_body = ("const {ct} x = a[{{a}}];\n    {ct} r = x != x ? vn : x;\n    r = x == nr_inf(x) ? vp : r;\n"
                "    out[{{o}}] = x == -nr_inf(x) ? vm : r;").format(ct=ct)
    kernel("nan_to_num", f"{ct}* out, const {ct}* a, double nan, double posinf, double neginf", ("o", "a"),
           f"const {ct} vn = ({ct})nan, vp = ({ct})posinf, vm = ({ct})neginf;", nan_body)
    return "\n".join(parts) + "\n"


register_family(KernelFamily("ew_unary", _unary, lambda: [(d, lay) for d in NUMERIC for lay in EW_LAYOUTS],
                             helpers=EW_HELPERS))
register_family(KernelFamily("ew_binary", _binary, lambda: [(d, lay) for d in NUMERIC for lay in EW_LAYOUTS],
                             helpers=EW_HELPERS))
register_family(KernelFamily("ew_select", _select, lambda: [(d, lay) for d in DTYPES for lay in EW_LAYOUTS],
                             helpers=EW_HELPERS))
