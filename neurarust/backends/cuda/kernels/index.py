"""Indexing kernel templates: gather/scatter, masks, advanced indexing, scans, sorting.

Families (all kernels grid-stride unless noted):

``index_move`` ``(bits, layout)``
    Pure data moves keyed by element size (``b8``..``b64``), so one kernel
    serves every dtype of that size: gather along an axis (index_select,
    gather), scatter (assignment), masked fill, tri, masked-select writes,
    advanced-index gather/put, take.
``index_reduce`` ``(dtype, layout)``
    scatter/index_add/index_put with a reduction (add, multiply, amax, amin),
    by atomics: native ``atomicAdd`` where the hardware has one, else a
    compare-and-swap loop (on the aligned 32-bit word for 1- and 2-byte types).
``index_count`` ``(dtype, layout)``
    "is non-zero" flags (NaN counts as non-zero, -0.0 as zero), for nonzero.
``index_scan`` ``("int64",)``
    The exclusive prefix sum that turns flags into output positions, and the
    dtype-free helpers built on it (nonzero coordinates, index wrapping with
    an error word, advanced-index offsets, unique's inverse and counts).
``index_sort`` ``(dtype,)``
    Bitonic sort of rows by a strict total order on ``(key, original index)``
    (NaN greatest; ties by index), so the result is the stable sort.  Rows of
    at most 2048 sort in shared memory; longer rows are padded to a power of
    two and run the global network, with every step of span < 2048 done in
    shared memory.

Strided kernels follow ``launch.strided_launch``'s convention; ``_kernel``
renders one from a body that reads the offsets ``o_<operand>``.
"""
from __future__ import annotations

from ..codegen import CTYPE, DTYPES, KernelFamily, kernel_name, layout_locals, layout_params, register_family

LAYOUTS = ("contig", "strided")
BITS = {1: "b8", 2: "b16", 4: "b32", 8: "b64"}
BITS_CTYPE = {"b8": "unsigned char", "b16": "unsigned short", "b32": "unsigned int", "b64": "unsigned long long"}
REDUCE_MODES = ("add", "multiply", "amax", "amin")
# bool reduces as uint8 bytes ("add" = or = amax, "multiply" = and = amin), so it has no key.
REDUCE_DTYPES = tuple(d for d in DTYPES if d != "bool")
SORT_TILE = 2048  # elements a block sorts in shared memory (block of SORT_TILE // 2 threads)
SCAN_TILE = 1024  # elements per block of the scan (256 threads x 4)

_LOOP = "for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)"


def _kernel(name: str, params: str, operands, body: str, layout: str) -> str:
    """A strided_launch kernel: ``params`` (pointers, extras), then ``n`` and the layout."""
    if layout == "contig":
        offs = " ".join(f"const i64 o_{op} = i;" for op in operands)
        return f"""
extern "C" __global__ void {name}({params}, i64 n) {{
  {_LOOP} {{
    {offs}
    {body}
  }}
}}
"""
    offs = " ".join(f"const i64 o_{op} = nr_offset(i, ndim, shape, {op}_stride);" for op in operands)
    return f"""
extern "C" __global__ void {name}({params}, i64 n, {layout_params(operands)}) {{
  {layout_locals(operands)}
  {_LOOP} {{
    {offs}
    {body}
  }}
}}
"""


# ------------------------------------------------------------------ moves
def _move(key: tuple) -> str:
    bits, layout = key
    t = BITS_CTYPE[bits]
    k = lambda op: kernel_name("imove", op, bits, layout)  # noqa: E731
    src = [
        # out[p] = a[p + index[p] * axis_stride]; a's view has stride 0 on the axis.
        _kernel(k("gather"), f"{t}* out, const i64* index, const {t}* a, i64 axis_stride, i64 bound",
                ("o", "x", "a"),
                "const i64 j = index[o_x];\n"
                f"    out[o_o] = ((unsigned long long)j < (unsigned long long)bound) ? a[o_a + j * axis_stride] : ({t})0;",
                layout),
        # out[p + index[p] * axis_stride] = src[p]; out's view has stride 0 on the axis.
        _kernel(k("scatter"), f"{t}* out, const i64* index, const {t}* src, i64 axis_stride, i64 bound",
                ("o", "x", "s"),
                "const i64 j = index[o_x];\n"
                "    if ((unsigned long long)j < (unsigned long long)bound) out[o_o + j * axis_stride] = src[o_s];",
                layout),
        _kernel(k("masked_fill"), f"{t}* a, const unsigned char* mask, const {t}* value", ("a", "m", "v"),
                "if (mask[o_m]) a[o_a] = value[o_v];", layout),
        # out is C-contiguous, so its offset is the element's C-order position (also in split launches,
        # whose pointer shifts are whole matrices); zero bits are 0 in every dtype.
        _kernel(k("tri"), f"{t}* out, const {t}* a, i64 rows, i64 cols, i64 diagonal, int upper", ("o", "a"),
                "const i64 c = o_o % cols, r = (o_o / cols) % rows;\n"
                "    const bool keep = upper ? (c - r >= diagonal) : (c - r <= diagonal);\n"
                f"    out[o_o] = keep ? a[o_a] : ({t})0;",
                layout),
        # pos is the exclusive scan of the mask, C-contiguous: an element is selected iff pos steps.
        _kernel(k("select"), f"const i64* pos, const {t}* a, {t}* out", ("p", "a"),
                "if (pos[o_p + 1] != pos[o_p]) out[pos[o_p]] = a[o_a];", layout),
        # Advanced-index assignment: off holds element offsets into the storage at base.
        _kernel(k("put"), f"const i64* off, const {t}* v, {t}* base", ("f", "v"),
                "base[off[o_f]] = v[o_v];", layout),
    ]
    if layout == "contig":
        src.append(f"""
extern "C" __global__ void {k("adv_gather")}({t}* out, const i64* off, const {t}* base, i64 n) {{
  {_LOOP} out[i] = base[off[i]];
}}
""")
    else:
        # take: out[i] = a at C-order position index[i]; a's (merged) layout unravels it.
        src.append(f"""
extern "C" __global__ void {k("take")}({t}* out, const i64* index, const {t}* a, i64 bound, i64 n,
    {layout_params(("a",))}) {{
  {layout_locals(("a",))}
  {_LOOP} {{
    const i64 j = index[i];
    out[i] = ((unsigned long long)j < (unsigned long long)bound) ? a[nr_offset(j, ndim, shape, a_stride)] : ({t})0;
  }}
}}
""")
    return "".join(src)


# ------------------------------------------------------------- reductions
_REDUCE_HELPERS = r"""
// Wrapping integer arithmetic (through unsigned: signed overflow is undefined in C++).
template <typename T> __device__ __forceinline__ T nr_add(T a, T b) {
  return (T)((unsigned long long)a + (unsigned long long)b); }
template <typename T> __device__ __forceinline__ T nr_mul(T a, T b) {
  return (T)((unsigned long long)a * (unsigned long long)b); }
template <> __device__ __forceinline__ float nr_add<float>(float a, float b) { return a + b; }
template <> __device__ __forceinline__ float nr_mul<float>(float a, float b) { return a * b; }
template <> __device__ __forceinline__ double nr_add<double>(double a, double b) { return a + b; }
template <> __device__ __forceinline__ double nr_mul<double>(double a, double b) { return a * b; }
template <> __device__ __forceinline__ __half nr_add<__half>(__half a, __half b) {
  return __float2half(__half2float(a) + __half2float(b)); }
template <> __device__ __forceinline__ __half nr_mul<__half>(__half a, __half b) {
  return __float2half(__half2float(a) * __half2float(b)); }
// amax/amin: as on the CPU, a NaN on either side wins.
template <typename T> __device__ __forceinline__ bool nr_gt(T a, T b) { return a > b; }
template <typename T> __device__ __forceinline__ bool nr_lt(T a, T b) { return a < b; }
template <typename T> __device__ __forceinline__ bool nr_nan(T a) { return false; }
template <> __device__ __forceinline__ bool nr_gt<__half>(__half a, __half b) { return __half2float(a) > __half2float(b); }
template <> __device__ __forceinline__ bool nr_lt<__half>(__half a, __half b) { return __half2float(a) < __half2float(b); }
template <> __device__ __forceinline__ bool nr_nan<float>(float a) { return a != a; }
template <> __device__ __forceinline__ bool nr_nan<double>(double a) { return a != a; }
template <> __device__ __forceinline__ bool nr_nan<__half>(__half a) { return __half2float(a) != __half2float(a); }

struct NrOpAdd { template <typename T> __device__ T operator()(T cur, T v) const { return nr_add(cur, v); } };
struct NrOpMul { template <typename T> __device__ T operator()(T cur, T v) const { return nr_mul(cur, v); } };
struct NrOpMax { template <typename T> __device__ T operator()(T cur, T v) const {
  return (nr_gt(v, cur) || nr_nan(v)) ? v : cur; } };
struct NrOpMin { template <typename T> __device__ T operator()(T cur, T v) const {
  return (nr_lt(v, cur) || nr_nan(v)) ? v : cur; } };

// Read-modify-write by compare-and-swap on the bits (so NaN never loops).
template <typename T, int S = sizeof(T)> struct NrAtomic {  // 1 or 2 bytes: CAS the aligned 32-bit word
  template <typename F> __device__ static void apply(T* addr, T v, F f) {
    const size_t a = reinterpret_cast<size_t>(addr);
    unsigned int* word = reinterpret_cast<unsigned int*>(a & ~(size_t)3);
    const unsigned int shift = (unsigned int)(a & 3) * 8u;
    const unsigned int mask = ((S == 1) ? 0xffu : 0xffffu) << shift;
    unsigned int old = *word, assumed;
    do {
      assumed = old;
      const unsigned int bits = (assumed & mask) >> shift;
      T cur;
      memcpy(&cur, &bits, S);  // little endian: the low bytes
      const T nv = f(cur, v);
      unsigned int nb = 0;
      memcpy(&nb, &nv, S);
      old = atomicCAS(word, assumed, (assumed & ~mask) | (nb << shift));
    } while (old != assumed);
  }
};
template <typename T> struct NrAtomic<T, 4> {
  template <typename F> __device__ static void apply(T* addr, T v, F f) {
    unsigned int* p = reinterpret_cast<unsigned int*>(addr);
    unsigned int old = *p, assumed;
    do {
      assumed = old;
      T cur; memcpy(&cur, &assumed, 4);
      const T nv = f(cur, v);
      unsigned int nb; memcpy(&nb, &nv, 4);
      old = atomicCAS(p, assumed, nb);
    } while (old != assumed);
  }
};
template <typename T> struct NrAtomic<T, 8> {
  template <typename F> __device__ static void apply(T* addr, T v, F f) {
    unsigned long long* p = reinterpret_cast<unsigned long long*>(addr);
    unsigned long long old = *p, assumed;
    do {
      assumed = old;
      T cur; memcpy(&cur, &assumed, 8);
      const T nv = f(cur, v);
      unsigned long long nb; memcpy(&nb, &nv, 8);
      old = atomicCAS(p, assumed, nb);
    } while (old != assumed);
  }
};

template <typename T> __device__ __forceinline__ void nr_atomic_add(T* p, T v) { NrAtomic<T>::apply(p, v, NrOpAdd()); }
template <> __device__ __forceinline__ void nr_atomic_add<float>(float* p, float v) { atomicAdd(p, v); }
template <> __device__ __forceinline__ void nr_atomic_add<double>(double* p, double v) { atomicAdd(p, v); }
template <> __device__ __forceinline__ void nr_atomic_add<int>(int* p, int v) { atomicAdd(p, v); }
template <> __device__ __forceinline__ void nr_atomic_add<long long>(long long* p, long long v) {
  atomicAdd(reinterpret_cast<unsigned long long*>(p), (unsigned long long)v); }

template <int MODE, typename T> __device__ __forceinline__ void nr_reduce_into(T* p, T v) {
  if (MODE == 0) nr_atomic_add(p, v);
  else if (MODE == 1) NrAtomic<T>::apply(p, v, NrOpMul());
  else if (MODE == 2) NrAtomic<T>::apply(p, v, NrOpMax());
  else NrAtomic<T>::apply(p, v, NrOpMin());
}
"""


def _reduce(key: tuple) -> str:
    dtype, layout = key
    t = CTYPE[dtype]
    alpha = "double" if dtype in ("float16", "float32", "float64") else "long long"
    src = []
    for m, mode in enumerate(REDUCE_MODES):
        # out[p + index[p] * axis_stride] (op)= src[p] * alpha (alpha is 1 for scatter's reductions).
        src.append(_kernel(
            kernel_name("ireduce", "scatter_" + mode, dtype, layout),
            f"{t}* out, const i64* index, const {t}* src, i64 axis_stride, i64 bound, {alpha} alpha, int scaled",
            ("o", "x", "s"),
            "const i64 j = index[o_x];\n"
            "    if ((unsigned long long)j < (unsigned long long)bound) {\n"
            f"      {t} v = src[o_s];\n"
            f"      if (scaled) v = nr_mul(v, nr_cast<{t}, {alpha}>(alpha));\n"
            f"      nr_reduce_into<{m}>(out + o_o + j * axis_stride, v);\n"
            "    }",
            layout))
    # index_put_ with accumulate: base[off[p]] += v[p].
    src.append(_kernel(kernel_name("ireduce", "put_add", dtype, layout), f"const i64* off, const {t}* v, {t}* base",
                       ("f", "v"), "nr_reduce_into<0>(base + off[o_f], v[o_v]);", layout))
    if dtype == "uint8":  # bool's accumulate: or, i.e. max on 0/1 bytes
        src.append(_kernel(kernel_name("ireduce", "put_amax", dtype, layout),
                           f"const i64* off, const {t}* v, {t}* base", ("f", "v"),
                           "nr_reduce_into<2>(base + off[o_f], v[o_v]);", layout))
    return "".join(src)


# ------------------------------------------------------------------ count
def _count(key: tuple) -> str:
    dtype, layout = key
    t = CTYPE[dtype]
    if dtype == "float16":
        test = "const float x = __half2float(a[o_a]); flags[o_f] = (x != 0.0f || x != x) ? 1 : 0;"
    elif dtype in ("float32", "float64"):
        test = "const auto x = a[o_a]; flags[o_f] = (x != 0 || x != x) ? 1 : 0;"
    else:
        test = "flags[o_f] = a[o_a] ? 1 : 0;"
    return _kernel(kernel_name("icount", "nonzero", dtype, layout), f"i64* flags, const {t}* a", ("f", "a"),
                   test, layout)


# ------------------------------------------------------------------- scan
_SCAN_HELPERS = r"""
// Inclusive scan over the threads of a block (blockDim.x a multiple of 32); every thread calls it.
__device__ __forceinline__ i64 nr_block_inclusive_scan(i64 x, i64* total) {
  __shared__ i64 warp_sums[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
#pragma unroll
  for (int o = 1; o < 32; o <<= 1) {
    const i64 y = __shfl_up_sync(NR_FULL_MASK, x, o);
    if (lane >= o) x += y;
  }
  __syncthreads();  // warp_sums may still be read by a previous call
  if (lane == 31) warp_sums[warp] = x;
  __syncthreads();
  if (warp == 0) {
    i64 w = lane < nwarps ? warp_sums[lane] : 0;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
      const i64 y = __shfl_up_sync(NR_FULL_MASK, w, o);
      if (lane >= o) w += y;
    }
    warp_sums[lane] = w;
  }
  __syncthreads();
  *total = warp_sums[nwarps - 1];
  return x + (warp > 0 ? warp_sums[warp - 1] : 0);
}
"""


def _scan(key: tuple) -> str:
    k = lambda op: kernel_name("iscan", op, *key)  # noqa: E731
    src = [f"""
// Exclusive scan of each tile of {SCAN_TILE} (256 threads x 4); tile totals go to sums.  in may equal out:
// each thread reads its own four elements before writing them.
extern "C" __global__ void {k("block")}(const i64* in, i64* out, i64* sums, i64 n) {{
  const i64 base = (i64)blockIdx.x * {SCAN_TILE} + threadIdx.x * 4;
  i64 v[4], s = 0, total;
#pragma unroll
  for (int q = 0; q < 4; ++q) {{ v[q] = base + q < n ? in[base + q] : 0; s += v[q]; }}
  i64 excl = nr_block_inclusive_scan(s, &total) - s;
#pragma unroll
  for (int q = 0; q < 4; ++q) {{ if (base + q < n) out[base + q] = excl; excl += v[q]; }}
  if (threadIdx.x == 0) sums[blockIdx.x] = total;
}}

extern "C" __global__ void {k("add")}(i64* out, const i64* offsets, i64 n) {{
  {_LOOP} out[i] += offsets[i / {SCAN_TILE}];
}}

// nonzero: the C-order coordinates of element i (shape has ndim entries) go to row pos[i].
extern "C" __global__ void {k("coords")}(const i64* pos, const i64* shape, i64* out, int ndim, i64 n) {{
  {_LOOP} {{
    if (pos[i + 1] == pos[i]) continue;
    i64* row = out + pos[i] * ndim;
    i64 rem = i;
    for (int d = ndim - 1; d >= 0; --d) {{ row[d] = rem % shape[d]; rem /= shape[d]; }}
  }}
}}

// unique: the run starts, the counts, and each input element's run (perm: the sort's indices).
extern "C" __global__ void {k("starts")}(const i64* pos, i64* starts, i64 n) {{
  {_LOOP} if (pos[i + 1] != pos[i]) starts[pos[i]] = i;
}}
extern "C" __global__ void {k("counts")}(const i64* starts, i64* counts, i64 total, i64 n) {{
  {_LOOP} counts[i] = (i + 1 < n ? starts[i + 1] : total) - starts[i];
}}
extern "C" __global__ void {k("inverse")}(const i64* pos, const i64* perm, i64* inv, i64 n) {{
  {_LOOP} inv[perm[i]] = pos[i + 1] - 1;
}}
"""]
    for layout in LAYOUTS:
        # Indices in [-size, size) wrapped to [0, size); the first bad one is kept in err[0..1]
        # (flag, value) for the host to raise, and writes 0 so later kernels stay in bounds.
        src.append(_kernel(k("wrap_" + layout), "i64* out, const i64* idx, i64 size, i64* err", ("o", "x"),
                           "const i64 v = idx[o_x];\n"
                           "    if (v < -size || v >= size) {\n"
                           "      out[o_o] = 0;\n"
                           "      if (atomicCAS(reinterpret_cast<unsigned long long*>(err), 0ull, 1ull) == 0ull) err[1] = v;\n"
                           "    } else {\n"
                           "      out[o_o] = v < 0 ? v + size : v;\n"
                           "    }", layout))
        # Advanced indexing: offsets of the basic dims (the "pointer" b is an element offset), then
        # each index array's contribution.
        src.append(_kernel(k("adv_init_" + layout), "i64* off, i64 b", ("f", "b"), "off[o_f] = b + o_b;", layout))
        src.append(_kernel(k("adv_add_" + layout), "i64* off, const i64* idx, i64 stride", ("f", "x"),
                           "off[o_f] += idx[o_x] * stride;", layout))
    return "".join(src)


# ------------------------------------------------------------------- sort
_SORT_HELPERS = r"""
#define NR_PAD 0x7fffffff
template <typename T> struct NrKey { typedef T type; };
template <> struct NrKey<__half> { typedef float type; };
template <typename K> __device__ __forceinline__ bool nr_knan(K x) { return x != x; }
template <> __device__ __forceinline__ bool nr_knan<bool>(bool x) { return false; }

// The sort order: keys ascending (descending if desc) with NaN as the greatest value, ties by the
// original index ascending; padding (index NR_PAD) after everything.  A strict total order, so the
// bitonic network yields the one stable result.
template <typename T>
__device__ __forceinline__ bool nr_before(T a, int ia, T b, int ib, bool desc) {
  if (ia == NR_PAD || ib == NR_PAD) return ib == NR_PAD && ia != NR_PAD;
  typedef typename NrKey<T>::type K;
  const K x = nr_cast<K, T>(a), y = nr_cast<K, T>(b);
  const bool nx = nr_knan(x), ny = nr_knan(y);
  int c;
  if (nx || ny) c = (nx && ny) ? 0 : (nx ? 1 : -1);
  else c = (x < y) ? -1 : ((y < x) ? 1 : 0);
  if (desc) c = -c;
  return c < 0 || (c == 0 && ia < ib);
}

// One compare-exchange of the network: elements i < l, ascending when up.
template <typename T>
__device__ __forceinline__ void nr_exchange(T* keys, int* idx, i64 i, i64 l, bool up, bool desc) {
  const T ki = keys[i], kl = keys[l];
  const int ii = idx[i], il = idx[l];
  if (up ? nr_before(kl, il, ki, ii, desc) : nr_before(ki, ii, kl, il, desc)) {
    keys[i] = kl; keys[l] = ki; idx[i] = il; idx[l] = ii;
  }
}

// Steps of span j in [1, jmax] of stage k over a shared tile of blockDim.x * 2 elements whose first
// element is at position g0 of its row (the direction depends on the row position).
template <typename T>
__device__ __forceinline__ void nr_tile_steps(T* keys, int* idx, i64 g0, i64 k, int jmax, bool desc) {
  const int t = threadIdx.x;
  for (int j = jmax; j > 0; j >>= 1) {
    __syncthreads();
    const int i = 2 * j * (t / j) + (t % j);
    nr_exchange(keys, idx, i, i + j, ((g0 + i) & k) == 0, desc);
  }
  __syncthreads();
}

template <typename T>
__device__ __forceinline__ void nr_tile_sort(T* keys, int* idx, i64 g0, int tile, bool desc) {
  for (int k = 2; k <= tile; k <<= 1) nr_tile_steps(keys, idx, g0, k, k >> 1, desc);
}

template <typename T> __device__ __forceinline__ bool nr_same(T a, T b) {
  typedef typename NrKey<T>::type K;
  const K x = nr_cast<K, T>(a), y = nr_cast<K, T>(b);
  return x == y || (nr_knan(x) && nr_knan(y));  // unique() merges NaNs, as numpy's does
}
"""


def _sort(key: tuple) -> str:
    (dtype,) = key
    t = CTYPE[dtype]
    k = lambda op: kernel_name("isort", op, dtype)  # noqa: E731
    tile = SORT_TILE
    return f"""
// One block per row of L <= {tile} (P: L rounded up to a power of two >= 2; P / 2 threads).
extern "C" __global__ void {k("small")}(const {t}* in, {t}* vals, i64* out_idx, i64 L, int P, int desc) {{
  __shared__ {t} sk[{tile}];
  __shared__ int si[{tile}];
  const i64 row = blockIdx.x;
  for (int c = threadIdx.x; c < P; c += blockDim.x) {{
    si[c] = c < L ? c : NR_PAD;
    sk[c] = c < L ? in[row * L + c] : in[row * L];
  }}
  nr_tile_sort(sk, si, 0, P, desc != 0);
  for (int c = threadIdx.x; c < L; c += blockDim.x) {{
    vals[row * L + c] = sk[c];
    out_idx[row * L + c] = si[c];
  }}
}}

// Long rows: work buffers of P (a power of two >= {tile}) per row, padded.
extern "C" __global__ void {k("init")}(const {t}* in, {t}* keys, int* idx, i64 L, i64 P, i64 n) {{
  {_LOOP} {{
    const i64 row = i / P, c = i % P;
    idx[i] = c < L ? (int)c : NR_PAD;
    keys[i] = c < L ? in[row * L + c] : in[row * L];
  }}
}}

// Tiles of {tile}: a full sort (k = 0) or the steps of span < {tile} of stage k.
extern "C" __global__ void {k("tile")}({t}* keys, int* idx, i64 P, i64 k, int desc) {{
  __shared__ {t} sk[{tile}];
  __shared__ int si[{tile}];
  const i64 base = (i64)blockIdx.x * {tile};
  for (int c = threadIdx.x; c < {tile}; c += blockDim.x) {{ sk[c] = keys[base + c]; si[c] = idx[base + c]; }}
  if (k == 0) nr_tile_sort(sk, si, base % P, {tile}, desc != 0);
  else nr_tile_steps(sk, si, base % P, k, {tile // 2}, desc != 0);
  for (int c = threadIdx.x; c < {tile}; c += blockDim.x) {{ keys[base + c] = sk[c]; idx[base + c] = si[c]; }}
}}

// One step of span j >= {tile} of stage k over all rows (n = rows * P / 2 pairs).
extern "C" __global__ void {k("global")}({t}* keys, int* idx, i64 P, i64 k, i64 j, int desc, i64 n) {{
  const i64 half = P / 2;
  {_LOOP} {{
    const i64 row = i / half, q = i % half;
    const i64 e = 2 * j * (q / j) + (q % j);
    nr_exchange(keys + row * P, idx + row * P, e, e + j, (e & k) == 0, desc != 0);
  }}
}}

extern "C" __global__ void {k("finish")}(const {t}* keys, const int* idx, {t}* vals, i64* out_idx, i64 L, i64 P,
    i64 n) {{
  {_LOOP} {{
    const i64 row = i / L, c = i % L;
    vals[i] = keys[row * P + c];
    out_idx[i] = idx[row * P + c];
  }}
}}

// unique over sorted values s: flags[i] = 1 where a new value starts.
extern "C" __global__ void {k("unique_flags")}(const {t}* s, i64* flags, i64 n) {{
  {_LOOP} flags[i] = (i == 0 || !nr_same(s[i - 1], s[i])) ? 1 : 0;
}}
extern "C" __global__ void {k("unique_values")}(const {t}* s, const i64* pos, {t}* out, i64 n) {{
  {_LOOP} if (pos[i + 1] != pos[i]) out[pos[i]] = s[i];
}}
"""


register_family(KernelFamily("index_move", _move, lambda: [(b, lay) for b in BITS.values() for lay in LAYOUTS]))
register_family(KernelFamily("index_reduce", _reduce, lambda: [(d, lay) for d in REDUCE_DTYPES for lay in LAYOUTS],
                             helpers=_REDUCE_HELPERS))
register_family(KernelFamily("index_count", _count, lambda: [(d, lay) for d in DTYPES for lay in LAYOUTS]))
register_family(KernelFamily("index_scan", _scan, lambda: [("int64",)], helpers=_SCAN_HELPERS))
register_family(KernelFamily("index_sort", _sort, lambda: [(d,) for d in DTYPES], helpers=_SORT_HELPERS))
