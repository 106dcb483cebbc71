"""Reduction kernel templates: reduce/arg-reduce/var/logsumexp, cumulative scans, softmax.

Three families, each keyed so that the first call of one op compiles only
that op's kernels:

``reduce`` ``(op, dtype)``
    One generic row reduction, instantiated per op policy (``NrRed*``
    below: identity, per-element term, combine, finish).  Every input is
    seen as ``rows`` output rows (the kept dims, any strides, ``nr_offset``)
    times ``n`` reduced elements at stride ``sr`` (the host merges or copies
    the reduced dims into one).  Three kernels per key:

    * ``inner``: a block (or a warp, for short rows) per row; contiguous rows
      read 16-byte vectors into per-lane accumulators, then the group meets
      in a warp-shuffle tree.  Long rows are cut into ``segs`` segments whose
      partial accumulators go to scratch;
    * ``outer``: threads over consecutive output rows (coalesced when the
      kept dims are the contiguous ones, e.g. ``sum(0)`` of a matrix),
      ``blockDim.y`` threads splitting each row, partials per ``blockIdx.y``
      segment;
    * ``final``: the ``inner`` kernel over the partials (``segs`` per row),
      then the op's finish.
    The combine order depends only on shapes and the launch geometry, never
    on timing, so results are reproducible.
``scan`` ``(op, dtype)``
    cumsum/cumprod: a group per line scanning chunks with a warp-shuffle
    scan and a running carry, or a thread per line (left-to-right, the CPU
    order) when lines are short or the axis is not the contiguous dim.
``softmax`` ``(dtype,)``
    softmax/log_softmax: a group per row keeping the row in registers
    (one read of memory) when it fits, three passes otherwise; a thread per
    line when the axis is not the contiguous dim.
"""
from __future__ import annotations

from ..codegen import (CTYPE, DTYPES, FLOAT_DTYPES, KernelFamily, kernel_name, layout_locals, layout_params,
                       register_family)

__all__ = ["REDUCE_OPS", "ARG_OPS", "INTERNAL_OPS", "SCAN_OPS", "reduce_types", "scan_types", "ACC_NBYTES"]

REDUCE_OPS = ("sum", "prod", "max", "min", "all", "any")
ARG_OPS = ("argmax", "argmin")
# Building blocks of var (mean in float64, squared deviations) and logsumexp.
INTERNAL_OPS = ("mean64", "sqdev", "sumexp")
SCAN_OPS = ("cumsum", "cumprod")

_INTS = ("bool", "uint8", "int8", "int16", "int32", "int64")
# max/min and arg keys compare in int for the narrow integer types (warp shuffles move 32 bits at least).
_CMP = dict({d: "int" for d in _INTS}, int64="long long", float16="float", float32="float", float64="double")
# float32 products accumulate in double like the CPU kernels (no overflow of partial products).
_PROD_ACC = dict({d: "unsigned long long" for d in _INTS}, float16="float", float32="double", float64="double")
_SUM_ACC = dict(_PROD_ACC, float32="float")

ACC_NBYTES = {"int": 4, "long long": 8, "unsigned long long": 8, "float": 4, "double": 8, "arg": 16}


def reduce_types(op: str, dtype: str):
    """``(policy C++ type, output numpy dtype name, accumulator C type or "arg")`` of a reduce key."""
    ct = CTYPE[dtype]
    is_int = dtype in _INTS
    if op in ("sum", "prod"):
        acc = (_SUM_ACC if op == "sum" else _PROD_ACC)[dtype]
        pol = "NrRedSum" if op == "sum" else "NrRedProd"
        return f"{pol}<{ct}, {acc}>", ("int64" if is_int else dtype), acc
    if op in ("max", "min"):
        pol = "NrRedMax" if op == "max" else "NrRedMin"
        return f"{pol}<{ct}, {_CMP[dtype]}>", dtype, _CMP[dtype]
    if op in ("all", "any"):
        return f"NrRedLogical<{ct}, {'true' if op == 'all' else 'false'}>", "bool", "int"
    if op in ARG_OPS:
        return f"NrRedArg<{ct}, {_CMP[dtype]}, {'true' if op == 'argmax' else 'false'}>", dtype, "arg"
    if op == "mean64":
        return f"NrRedMean64<{ct}>", "float64", "double"
    if op == "sqdev":
        return f"NrRedSqdev<{ct}>", dtype, "double"
    if op == "sumexp":
        acc = "double" if dtype == "float64" else "float"
        return f"NrRedSumExp<{ct}, {acc}>", dtype, acc
    raise ValueError(f"unknown reduce op {op!r}")


def scan_types(op: str, dtype: str):
    """``(policy C++ type, output numpy dtype name)`` of a scan key (CPU rules: ints to int64)."""
    acc = _PROD_ACC[dtype]
    pol = "NrRedSum" if op == "cumsum" else "NrRedProd"
    return f"{pol}<{CTYPE[dtype]}, {acc}>", ("int64" if dtype in _INTS else dtype)


# Device code shared by the three families: policies and group reductions.
_BASE = r"""
#define NR_RED_BLOCK 256
#define NR_INF_F __int_as_float(0x7f800000)
#define NR_INF_D __longlong_as_double(0x7ff0000000000000LL)

__device__ __forceinline__ float nr_exp(float x) { return expf(x); }
__device__ __forceinline__ double nr_exp(double x) { return exp(x); }
__device__ __forceinline__ float nr_log(float x) { return logf(x); }
__device__ __forceinline__ double nr_log(double x) { return log(x); }

// Extremes of each storage type (the identity of max/min); __half's are floats.
template <typename T> struct NrLimits;
template <> struct NrLimits<bool> {
  __device__ static bool lowest() { return false; } __device__ static bool highest() { return true; } };
template <> struct NrLimits<unsigned char> {
  __device__ static int lowest() { return 0; } __device__ static int highest() { return 255; } };
template <> struct NrLimits<signed char> {
  __device__ static int lowest() { return -128; } __device__ static int highest() { return 127; } };
template <> struct NrLimits<short> {
  __device__ static int lowest() { return -32768; } __device__ static int highest() { return 32767; } };
template <> struct NrLimits<int> {
  __device__ static int lowest() { return -2147483647 - 1; } __device__ static int highest() { return 2147483647; } };
template <> struct NrLimits<long long> {
  __device__ static long long lowest() { return -9223372036854775807LL - 1; }
  __device__ static long long highest() { return 9223372036854775807LL; } };
template <> struct NrLimits<__half> {
  __device__ static float lowest() { return -NR_INF_F; } __device__ static float highest() { return NR_INF_F; } };
template <> struct NrLimits<float> {
  __device__ static float lowest() { return -NR_INF_F; } __device__ static float highest() { return NR_INF_F; } };
template <> struct NrLimits<double> {
  __device__ static double lowest() { return -NR_INF_D; } __device__ static double highest() { return NR_INF_D; } };

// NaN wins and then stays (torch); the x != x test is false for integers.
template <typename T> __device__ __forceinline__ T nr_max_nan(T a, T b) { return (b > a || b != b) ? b : a; }
template <typename T> __device__ __forceinline__ T nr_min_nan(T a, T b) { return (b < a || b != b) ? b : a; }

// Policies: acc_t accumulates, center_t is a per-row constant (var's mean,
// logsumexp's max), term(x, j, c) is the value folded for element j.
template <typename In, typename Acc> struct NrRedSum {
  typedef Acc acc_t; typedef double center_t;
  __device__ static Acc ident() { return Acc(0); }
  __device__ static Acc term(In x, i64, center_t) { return nr_cast<Acc, In>(x); }
  __device__ static Acc combine(Acc a, Acc b) { return a + b; }
  template <typename Out> __device__ static void finish(Out* out, i64*, i64 row, Acc acc, center_t, double) {
    out[row] = nr_cast<Out, Acc>(acc); }
};
template <typename In, typename Acc> struct NrRedProd {
  typedef Acc acc_t; typedef double center_t;
  __device__ static Acc ident() { return Acc(1); }
  __device__ static Acc term(In x, i64, center_t) { return nr_cast<Acc, In>(x); }
  __device__ static Acc combine(Acc a, Acc b) { return a * b; }
  template <typename Out> __device__ static void finish(Out* out, i64*, i64 row, Acc acc, center_t, double) {
    out[row] = nr_cast<Out, Acc>(acc); }
};
template <typename In, typename Acc> struct NrRedMax {
  typedef Acc acc_t; typedef double center_t;
  __device__ static Acc ident() { return static_cast<Acc>(NrLimits<In>::lowest()); }
  __device__ static Acc term(In x, i64, center_t) { return nr_cast<Acc, In>(x); }
  __device__ static Acc combine(Acc a, Acc b) { return nr_max_nan(a, b); }
  template <typename Out> __device__ static void finish(Out* out, i64*, i64 row, Acc acc, center_t, double) {
    out[row] = nr_cast<Out, Acc>(acc); }
};
template <typename In, typename Acc> struct NrRedMin {
  typedef Acc acc_t; typedef double center_t;
  __device__ static Acc ident() { return static_cast<Acc>(NrLimits<In>::highest()); }
  __device__ static Acc term(In x, i64, center_t) { return nr_cast<Acc, In>(x); }
  __device__ static Acc combine(Acc a, Acc b) { return nr_min_nan(a, b); }
  template <typename Out> __device__ static void finish(Out* out, i64*, i64 row, Acc acc, center_t, double) {
    out[row] = nr_cast<Out, Acc>(acc); }
};
// all/any: truthiness is "!= 0", so NaN counts as true (numpy/torch).
template <typename In, bool kAll> struct NrRedLogical {
  typedef int acc_t; typedef double center_t;
  __device__ static int ident() { return kAll ? 1 : 0; }
  __device__ static int term(In x, i64, center_t) { return nr_cast<bool, In>(x) ? 1 : 0; }
  __device__ static int combine(int a, int b) { return kAll ? (a & b) : (a | b); }
  template <typename Out> __device__ static void finish(Out* out, i64*, i64 row, int acc, center_t, double) {
    out[row] = acc != 0; }
};
// var pass 1: the mean in float64 (param = element count).
template <typename In> struct NrRedMean64 {
  typedef double acc_t; typedef double center_t;
  __device__ static double ident() { return 0.0; }
  __device__ static double term(In x, i64, center_t) { return nr_cast<double, In>(x); }
  __device__ static double combine(double a, double b) { return a + b; }
  template <typename Out> __device__ static void finish(Out* out, i64*, i64 row, double acc, center_t, double n) {
    out[row] = nr_cast<Out, double>(acc / n); }
};
// var pass 2: squared deviations from the row's mean (param = max(0, N - correction)).
template <typename In> struct NrRedSqdev {
  typedef double acc_t; typedef double center_t;
  __device__ static double ident() { return 0.0; }
  __device__ static double term(In x, i64, double c) { double d = nr_cast<double, In>(x) - c; return d * d; }
  __device__ static double combine(double a, double b) { return a + b; }
  template <typename Out> __device__ static void finish(Out* out, i64*, i64 row, double acc, double, double div) {
    out[row] = nr_cast<Out, double>(acc / div); }
};
// logsumexp: center = the row's max; all -inf stays -inf, +inf stays +inf, NaN propagates.
template <typename In, typename Acc> struct NrRedSumExp {
  typedef Acc acc_t; typedef Acc center_t;
  __device__ static Acc ident() { return Acc(0); }
  __device__ static Acc term(In x, i64, Acc c) { return nr_exp(nr_cast<Acc, In>(x) - c); }
  __device__ static Acc combine(Acc a, Acc b) { return a + b; }
  template <typename Out> __device__ static void finish(Out* out, i64*, i64 row, Acc acc, Acc c, double) {
    out[row] = nr_cast<Out, Acc>(isinf(c) ? c : c + nr_log(acc)); }
};
// arg max/min: the winner under a total order (NaN beats numbers, then the
// larger/smaller value, then the smaller index), so any combine order gives
// the first occurrence; the reported value is the winning element itself.
template <typename K> struct NrArgAcc { K v; i64 i; };
template <typename In, typename K, bool kMax> struct NrRedArg {
  typedef NrArgAcc<K> acc_t; typedef double center_t;
  __device__ static acc_t ident() {
    acc_t r; r.v = static_cast<K>(kMax ? NrLimits<In>::lowest() : NrLimits<In>::highest());
    r.i = 9223372036854775807LL; return r; }
  __device__ static acc_t term(In x, i64 j, center_t) { acc_t r; r.v = nr_cast<K, In>(x); r.i = j; return r; }
  __device__ static bool better(acc_t x, acc_t y) {
    bool xn = x.v != x.v, yn = y.v != y.v;
    if (xn != yn) return xn;
    if (!xn && x.v != y.v) return kMax ? x.v > y.v : x.v < y.v;
    return x.i < y.i;
  }
  __device__ static acc_t combine(acc_t a, acc_t b) { return better(b, a) ? b : a; }
  template <typename Out> __device__ static void finish(Out* out, i64* idx, i64 row, acc_t acc, center_t, double) {
    if (out) out[row] = nr_cast<Out, K>(acc.v);
    idx[row] = acc.i; }
};

template <typename T> __device__ __forceinline__ T nr_shfl_down(T v, int o) {
  return __shfl_down_sync(NR_FULL_MASK, v, o); }
template <typename K> __device__ __forceinline__ NrArgAcc<K> nr_shfl_down(NrArgAcc<K> v, int o) {
  v.v = __shfl_down_sync(NR_FULL_MASK, v.v, o); v.i = __shfl_down_sync(NR_FULL_MASK, v.i, o); return v; }

template <class Op> __device__ __forceinline__ typename Op::acc_t nr_red_warp(typename Op::acc_t v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = Op::combine(v, nr_shfl_down(v, o));
  return v;
}

// Result valid in thread 0; every thread of the block calls it.
template <class Op> __device__ __forceinline__ typename Op::acc_t nr_red_block(typename Op::acc_t v) {
  __shared__ typename Op::acc_t parts[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = nr_red_warp<Op>(v);
  __syncthreads();  // parts may still be read by the previous call
  if (lane == 0) parts[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < (int)(blockDim.x >> 5) ? parts[lane] : Op::ident();
    v = nr_red_warp<Op>(v);
  }
  return v;
}

// The group's result in every thread of the group (a warp or the block).
template <class Op> __device__ __forceinline__ typename Op::acc_t nr_red_all(typename Op::acc_t v, int warp_mode) {
  if (warp_mode) return __shfl_sync(NR_FULL_MASK, nr_red_warp<Op>(v), 0);
  __shared__ typename Op::acc_t bcast;
  v = nr_red_block<Op>(v);
  if (threadIdx.x == 0) bcast = v;
  __syncthreads();
  v = bcast;
  __syncthreads();
  return v;
}

template <typename T, int N> struct __align__(16) NrVec { T e[N]; };
template <typename T> struct NrVecWidth { static const int value = (sizeof(T) <= 8 && 16 % sizeof(T) == 0) ? int(16 / sizeof(T)) : 1; };
"""

_REDUCE_HELPERS = _BASE + r"""
// Pass 1 folds input elements through term(); the final pass re-reads partial accumulators.
template <class Op, bool kPartial> struct NrTerm {
  template <typename In> __device__ static typename Op::acc_t f(In x, i64 j, typename Op::center_t c) {
    return Op::term(x, j, c); } };
template <class Op> struct NrTerm<Op, true> {
  __device__ static typename Op::acc_t f(typename Op::acc_t x, i64, typename Op::center_t) { return x; } };

// A group (a warp when warp_mode, else the block) per (row, segment) task.
template <class Op, bool kPartial, typename In, typename Out>
__device__ __forceinline__ void nr_reduce_inner(
    const In* __restrict__ a, Out* out, i64* out_idx, void* partial_v, const void* center_v, double param,
    i64 rows, i64 n, i64 sr, i64 seg_len, i64 segs, int warp_mode, int ndim, const i64* shape, const i64* stride) {
  typedef typename Op::acc_t Acc;
  typedef typename Op::center_t C;
  typedef NrTerm<Op, kPartial> Term;
  const int VN = NrVecWidth<In>::value;
  Acc* partial = static_cast<Acc*>(partial_v);
  const C* center = static_cast<const C*>(center_v);
  const int gsize = warp_mode ? 32 : (int)blockDim.x;
  const int groups = (int)blockDim.x / gsize;
  const int lt = (int)threadIdx.x % gsize;
  const i64 tasks = rows * segs;
  // In block mode the task depends on blockIdx only, so the loop is uniform over the block.
  for (i64 task = (i64)blockIdx.x * groups + (int)threadIdx.x / gsize; task < tasks; task += (i64)gridDim.x * groups) {
    const i64 row = task / segs, s = task - row * segs;
    const In* p = a + nr_offset(row, ndim, shape, stride);
    const i64 j0 = s * seg_len;
    const i64 j1 = n < j0 + seg_len ? n : j0 + seg_len;
    const C c = center ? center[row] : C(0);
    Acc acc = Op::ident();
    if (VN > 1 && sr == 1) {
      // Scalar head up to a 16-byte boundary, 16-byte vectors into VN lanes, scalar tail.
      Acc lane[VN];
#pragma unroll
      for (int k = 0; k < VN; ++k) lane[k] = Op::ident();
      const unsigned long long addr = (unsigned long long)(p + j0);
      i64 head = (i64)(((16 - (addr & 15)) & 15) / sizeof(In));
      if (head > j1 - j0) head = j1 - j0;
      for (i64 j = j0 + lt; j < j0 + head; j += gsize) acc = Op::combine(acc, Term::f(p[j], j, c));
      const i64 jv = j0 + head, nv = (j1 - jv) / VN;
      const NrVec<In, NrVecWidth<In>::value>* pv = reinterpret_cast<const NrVec<In, NrVecWidth<In>::value>*>(p + jv);
#pragma unroll 4
      for (i64 q = lt; q < nv; q += gsize) {
        const NrVec<In, NrVecWidth<In>::value> x = pv[q];
#pragma unroll
        for (int k = 0; k < VN; ++k) lane[k] = Op::combine(lane[k], Term::f(x.e[k], jv + q * VN + k, c));
      }
      for (i64 j = jv + nv * VN + lt; j < j1; j += gsize) acc = Op::combine(acc, Term::f(p[j], j, c));
#pragma unroll
      for (int k = 0; k < VN; ++k) acc = Op::combine(acc, lane[k]);
    } else {
      for (i64 j = j0 + lt; j < j1; j += gsize) acc = Op::combine(acc, Term::f(p[j * sr], j, c));
    }
    acc = warp_mode ? nr_red_warp<Op>(acc) : nr_red_block<Op>(acc);
    if (lt == 0) {
      if (segs == 1) Op::finish(out, out_idx, row, acc, c, param);
      else partial[task] = acc;
    }
  }
}

// Threads x over consecutive rows, blockDim.y threads (a power of two) splitting
// each row, blockIdx.y the segment.
template <class Op, typename In, typename Out>
__device__ __forceinline__ void nr_reduce_outer(
    const In* __restrict__ a, Out* out, i64* out_idx, void* partial_v, const void* center_v, double param,
    i64 rows, i64 n, i64 sr, i64 seg_len, i64 segs, int ndim, const i64* shape, const i64* stride) {
  typedef typename Op::acc_t Acc;
  typedef typename Op::center_t C;
  __shared__ Acc sm[NR_RED_BLOCK];
  Acc* partial = static_cast<Acc*>(partial_v);
  const C* center = static_cast<const C*>(center_v);
  const int tx = threadIdx.x, ty = threadIdx.y, bx = blockDim.x, by = blockDim.y;
  const i64 s = blockIdx.y;
  const i64 j0 = s * seg_len;
  const i64 j1 = n < j0 + seg_len ? n : j0 + seg_len;
  for (i64 k0 = (i64)blockIdx.x * bx; k0 < rows; k0 += (i64)gridDim.x * bx) {
    const i64 k = k0 + tx;
    Acc acc = Op::ident();
    C c = C(0);
    if (k < rows) {
      if (center) c = center[k];
      const In* p = a + nr_offset(k, ndim, shape, stride);
#pragma unroll 4
      for (i64 j = j0 + ty; j < j1; j += by) acc = Op::combine(acc, Op::term(p[j * sr], j, c));
    }
    if (by > 1) {
      sm[ty * bx + tx] = acc;
      __syncthreads();
      for (int h = by >> 1; h > 0; h >>= 1) {
        if (ty < h) sm[ty * bx + tx] = Op::combine(sm[ty * bx + tx], sm[(ty + h) * bx + tx]);
        __syncthreads();
      }
      acc = sm[tx];
      __syncthreads();  // sm is rewritten by the next iteration
    }
    if (ty == 0 && k < rows) {
      if (segs == 1) Op::finish(out, out_idx, k, acc, c, param);
      else partial[k * segs + s] = acc;
    }
  }
}
"""

_REDUCE_ARGS = ("void* partial, const void* center, double param, i64 rows, i64 n, i64 sr, i64 seg_len, i64 segs, "
                "int warp_mode, ")
_REDUCE_CALL = "partial, center, param, rows, n, sr, seg_len, segs"


def _render_reduce(key: tuple) -> str:
    op, dtype = key
    pol, out_dtype, acc = reduce_types(op, dtype)
    ct, out_ct = CTYPE[dtype], CTYPE[out_dtype]
    acc_ct = f"NrArgAcc<{_CMP[dtype]}>" if acc == "arg" else acc
    params = _REDUCE_ARGS + layout_params(("a",))
    body = layout_locals(("a",))
    return f"""
extern "C" __global__ void {kernel_name("reduce", "inner", op, dtype)}(
    const {ct}* a, {out_ct}* out, i64* out_idx, {params}) {{
  {body}
  nr_reduce_inner<{pol}, false>(a, out, out_idx, {_REDUCE_CALL}, warp_mode, ndim, shape, a_stride);
}}
extern "C" __global__ void {kernel_name("reduce", "outer", op, dtype)}(
    const {ct}* a, {out_ct}* out, i64* out_idx, {params}) {{
  {body}
  nr_reduce_outer<{pol}>(a, out, out_idx, {_REDUCE_CALL}, ndim, shape, a_stride);
}}
extern "C" __global__ void {kernel_name("reduce", "final", op, dtype)}(
    const {acc_ct}* a, {out_ct}* out, i64* out_idx, {params}) {{
  {body}
  nr_reduce_inner<{pol}, true>(a, out, out_idx, {_REDUCE_CALL}, warp_mode, ndim, shape, a_stride);
}}
"""


def _reduce_keys():
    keys = [(op, d) for op in REDUCE_OPS + ARG_OPS for d in DTYPES]
    return keys + [(op, d) for op in INTERNAL_OPS for d in FLOAT_DTYPES]


_SCAN_HELPERS = _BASE + r"""
// Inclusive scan over the group (a warp or the block); *total gets the group's total.
template <class Op> __device__ __forceinline__ typename Op::acc_t nr_scan_group(
    typename Op::acc_t v, int warp_mode, typename Op::acc_t* total) {
  typedef typename Op::acc_t Acc;
  __shared__ Acc warp_tot[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
  for (int o = 1; o < 32; o <<= 1) {
    Acc t = __shfl_up_sync(NR_FULL_MASK, v, o);
    if (lane >= o) v = Op::combine(t, v);
  }
  if (warp_mode) { *total = __shfl_sync(NR_FULL_MASK, v, 31); return v; }
  const int nw = blockDim.x >> 5;
  if (lane == 31) warp_tot[warp] = v;
  __syncthreads();
  if (warp == 0) {
    Acc w = lane < nw ? warp_tot[lane] : Op::ident();
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
      Acc t = __shfl_up_sync(NR_FULL_MASK, w, o);
      if (lane >= o) w = Op::combine(t, w);
    }
    if (lane < nw) warp_tot[lane] = w;
  }
  __syncthreads();
  if (warp > 0) v = Op::combine(warp_tot[warp - 1], v);
  *total = warp_tot[nw - 1];
  __syncthreads();  // warp_tot is rewritten by the next call
  return v;
}

// A group per line, chunks of the group's size, carrying the running total.
template <class Op, typename In, typename Out>
__device__ __forceinline__ void nr_scan_inner(const In* __restrict__ a, Out* __restrict__ out, i64 rows, i64 n,
    i64 sa, i64 so, int warp_mode, int ndim, const i64* shape, const i64* a_stride, const i64* o_stride) {
  typedef typename Op::acc_t Acc;
  const int gsize = warp_mode ? 32 : (int)blockDim.x;
  const int groups = (int)blockDim.x / gsize;
  const int lt = (int)threadIdx.x % gsize;
  for (i64 row = (i64)blockIdx.x * groups + (int)threadIdx.x / gsize; row < rows; row += (i64)gridDim.x * groups) {
    const In* pa = a + nr_offset(row, ndim, shape, a_stride);
    Out* po = out + nr_offset(row, ndim, shape, o_stride);
    Acc carry = Op::ident();
    for (i64 c0 = 0; c0 < n; c0 += gsize) {
      const i64 j = c0 + lt;
      Acc v = j < n ? Op::term(pa[j * sa], j, 0.0) : Op::ident();
      Acc total;
      v = Op::combine(carry, nr_scan_group<Op>(v, warp_mode, &total));
      if (j < n) po[j * so] = nr_cast<Out, Acc>(v);
      carry = Op::combine(carry, total);
    }
  }
}

// A thread per line, left to right (the CPU's order).
template <class Op, typename In, typename Out>
__device__ __forceinline__ void nr_scan_outer(const In* __restrict__ a, Out* __restrict__ out, i64 rows, i64 n,
    i64 sa, i64 so, int ndim, const i64* shape, const i64* a_stride, const i64* o_stride) {
  typedef typename Op::acc_t Acc;
  for (i64 row = blockIdx.x * (i64)blockDim.x + threadIdx.x; row < rows; row += (i64)gridDim.x * blockDim.x) {
    const In* pa = a + nr_offset(row, ndim, shape, a_stride);
    Out* po = out + nr_offset(row, ndim, shape, o_stride);
    Acc acc = Op::ident();
    for (i64 j = 0; j < n; ++j) {
      acc = Op::combine(acc, Op::term(pa[j * sa], j, 0.0));
      po[j * so] = nr_cast<Out, Acc>(acc);
    }
  }
}
"""


def _render_scan(key: tuple) -> str:
    op, dtype = key
    pol, out_dtype = scan_types(op, dtype)
    ct, out_ct = CTYPE[dtype], CTYPE[out_dtype]
    params = "i64 rows, i64 n, i64 sa, i64 so, int warp_mode, " + layout_params(("a", "o"))
    body = layout_locals(("a", "o"))
    call = "a, out, rows, n, sa, so"
    return f"""
extern "C" __global__ void {kernel_name("scan", "inner", op, dtype)}(
    const {ct}* a, {out_ct}* out, {params}) {{
  {body}
  nr_scan_inner<{pol}>({call}, warp_mode, ndim, shape, a_stride, o_stride);
}}
extern "C" __global__ void {kernel_name("scan", "outer", op, dtype)}(
    const {ct}* a, {out_ct}* out, {params}) {{
  {body}
  nr_scan_outer<{pol}>({call}, ndim, shape, a_stride, o_stride);
}}
"""


_SOFTMAX_HELPERS = _BASE + r"""
#define NR_SOFTMAX_ITEMS 16

template <typename Acc> struct NrCmbMax {
  typedef Acc acc_t;
  __device__ static Acc ident() { return -NrLimits<Acc>::highest(); }
  __device__ static Acc combine(Acc a, Acc b) { return nr_max_nan(a, b); } };
template <typename Acc> struct NrCmbSum {
  typedef Acc acc_t;
  __device__ static Acc ident() { return Acc(0); }
  __device__ static Acc combine(Acc a, Acc b) { return a + b; } };

// Row held in registers: NR_SOFTMAX_ITEMS values per thread, read as VN-wide
// vectors (VN == 1: any strides).  Item k of thread lt is element
// (lt + (k / VN) * gsize) * VN + k % VN; with VN > 1, n is a multiple of VN.
template <typename T, typename Acc, int VN>
__device__ __forceinline__ void nr_softmax_cached(const T* x, T* y, i64 n, i64 sx, i64 sy, int log_mode,
                                                  int warp_mode, int lt, int gsize) {
  Acc v[NR_SOFTMAX_ITEMS];
  Acc m = NrCmbMax<Acc>::ident();
#pragma unroll
  for (int q = 0; q < NR_SOFTMAX_ITEMS / VN; ++q) {
    const i64 base = ((i64)lt + (i64)q * gsize) * VN;
    if (base < n) {
      if (VN > 1) {
        const NrVec<T, VN> t = reinterpret_cast<const NrVec<T, VN>*>(x)[base / VN];
#pragma unroll
        for (int e = 0; e < VN; ++e) v[q * VN + e] = nr_cast<Acc, T>(t.e[e]);
      } else {
        v[q] = nr_cast<Acc, T>(x[base * sx]);
      }
#pragma unroll
      for (int e = 0; e < VN; ++e) m = nr_max_nan(m, v[q * VN + e]);
    }
  }
  m = nr_red_all<NrCmbMax<Acc> >(m, warp_mode);
  Acc s = Acc(0);
#pragma unroll
  for (int q = 0; q < NR_SOFTMAX_ITEMS / VN; ++q) {
    if (((i64)lt + (i64)q * gsize) * VN < n) {
#pragma unroll
      for (int e = 0; e < VN; ++e) {
        const Acc ex = nr_exp(v[q * VN + e] - m);
        s += ex;
        if (!log_mode) v[q * VN + e] = ex;
      }
    }
  }
  s = nr_red_all<NrCmbSum<Acc> >(s, warp_mode);
  const Acc k = log_mode ? nr_log(s) : Acc(1) / s;
#pragma unroll
  for (int q = 0; q < NR_SOFTMAX_ITEMS / VN; ++q) {
    const i64 base = ((i64)lt + (i64)q * gsize) * VN;
    if (base < n) {
      NrVec<T, VN> t;
#pragma unroll
      for (int e = 0; e < VN; ++e) {
        const Acc r = log_mode ? (v[q * VN + e] - m) - k : v[q * VN + e] * k;
        t.e[e] = nr_cast<T, Acc>(r);
      }
      if (VN > 1) reinterpret_cast<NrVec<T, VN>*>(y)[base / VN] = t;
      else y[base * sy] = t.e[0];
    }
  }
}

// Rows longer than the registers hold: max, sum and write passes over memory.
template <typename T, typename Acc>
__device__ __forceinline__ void nr_softmax_passes(const T* x, T* y, i64 n, i64 sx, i64 sy, int log_mode,
                                                  int warp_mode, int lt, int gsize) {
  Acc m = NrCmbMax<Acc>::ident();
  for (i64 j = lt; j < n; j += gsize) m = nr_max_nan(m, nr_cast<Acc, T>(x[j * sx]));
  m = nr_red_all<NrCmbMax<Acc> >(m, warp_mode);
  Acc s = Acc(0);
  for (i64 j = lt; j < n; j += gsize) s += nr_exp(nr_cast<Acc, T>(x[j * sx]) - m);
  s = nr_red_all<NrCmbSum<Acc> >(s, warp_mode);
  const Acc k = log_mode ? nr_log(s) : Acc(1) / s;
  for (i64 j = lt; j < n; j += gsize) {
    const Acc d = nr_cast<Acc, T>(x[j * sx]) - m;
    y[j * sy] = nr_cast<T, Acc>(log_mode ? d - k : nr_exp(d) * k);
  }
}

template <typename T, typename Acc>
__device__ __forceinline__ void nr_softmax_inner(const T* __restrict__ a, T* __restrict__ out, i64 rows, i64 n,
    i64 sa, i64 so, int log_mode, int warp_mode, int ndim, const i64* shape, const i64* a_stride,
    const i64* o_stride) {
  const int VN = NrVecWidth<T>::value;
  const int gsize = warp_mode ? 32 : (int)blockDim.x;
  const int groups = (int)blockDim.x / gsize;
  const int lt = (int)threadIdx.x % gsize;
  for (i64 row = (i64)blockIdx.x * groups + (int)threadIdx.x / gsize; row < rows; row += (i64)gridDim.x * groups) {
    const T* x = a + nr_offset(row, ndim, shape, a_stride);
    T* y = out + nr_offset(row, ndim, shape, o_stride);
    if (n <= (i64)gsize * NR_SOFTMAX_ITEMS) {
      const bool vec = sa == 1 && so == 1 && n % VN == 0 && ((unsigned long long)x & 15) == 0 &&
                       ((unsigned long long)y & 15) == 0;
      if (vec) nr_softmax_cached<T, Acc, NrVecWidth<T>::value>(x, y, n, 1, 1, log_mode, warp_mode, lt, gsize);
      else nr_softmax_cached<T, Acc, 1>(x, y, n, sa, so, log_mode, warp_mode, lt, gsize);
    } else {
      nr_softmax_passes<T, Acc>(x, y, n, sa, so, log_mode, warp_mode, lt, gsize);
    }
  }
}

// A thread per line, three passes along it (coalesced when the kept dims are the contiguous ones).
template <typename T, typename Acc>
__device__ __forceinline__ void nr_softmax_outer(const T* __restrict__ a, T* __restrict__ out, i64 rows, i64 n,
    i64 sa, i64 so, int log_mode, int ndim, const i64* shape, const i64* a_stride, const i64* o_stride) {
  for (i64 row = blockIdx.x * (i64)blockDim.x + threadIdx.x; row < rows; row += (i64)gridDim.x * blockDim.x) {
    const T* x = a + nr_offset(row, ndim, shape, a_stride);
    T* y = out + nr_offset(row, ndim, shape, o_stride);
    Acc m = NrCmbMax<Acc>::ident(), s = Acc(0);
    for (i64 j = 0; j < n; ++j) m = nr_max_nan(m, nr_cast<Acc, T>(x[j * sa]));
    for (i64 j = 0; j < n; ++j) s += nr_exp(nr_cast<Acc, T>(x[j * sa]) - m);
    const Acc k = log_mode ? nr_log(s) : Acc(1) / s;
    for (i64 j = 0; j < n; ++j) {
      const Acc d = nr_cast<Acc, T>(x[j * sa]) - m;
      y[j * so] = nr_cast<T, Acc>(log_mode ? d - k : nr_exp(d) * k);
    }
  }
}
"""


def _render_softmax(key: tuple) -> str:
    (dtype,) = key
    ct = CTYPE[dtype]
    acc = "double" if dtype == "float64" else "float"
    params = "i64 rows, i64 n, i64 sa, i64 so, int log_mode, int warp_mode, " + layout_params(("a", "o"))
    body = layout_locals(("a", "o"))
    return f"""
extern "C" __global__ void {kernel_name("softmax", "inner", dtype)}(
    const {ct}* a, {ct}* out, {params}) {{
  {body}
  nr_softmax_inner<{ct}, {acc}>(a, out, rows, n, sa, so, log_mode, warp_mode, ndim, shape, a_stride, o_stride);
}}
extern "C" __global__ void {kernel_name("softmax", "outer", dtype)}(
    const {ct}* a, {ct}* out, {params}) {{
  {body}
  nr_softmax_outer<{ct}, {acc}>(a, out, rows, n, sa, so, log_mode, ndim, shape, a_stride, o_stride);
}}
"""


register_family(KernelFamily("reduce", _render_reduce, _reduce_keys, helpers=_REDUCE_HELPERS))
register_family(KernelFamily("scan", _render_scan, lambda: [(op, d) for op in SCAN_OPS for d in DTYPES],
                             helpers=_SCAN_HELPERS))
register_family(KernelFamily("softmax", _render_softmax, lambda: [(d,) for d in FLOAT_DTYPES],
                             helpers=_SOFTMAX_HELPERS))
