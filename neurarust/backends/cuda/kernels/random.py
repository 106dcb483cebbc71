"""Random number kernel templates: counter-based Philox4x32-10.

Every kernel thread ``t`` draws block ``base + t`` of the stream ``seed``
(one Philox call, four 32-bit words), so results depend only on
``(seed, base)`` and the element index, never on the launch geometry.  The
host takes ``base`` from ``runtime.next_philox`` (offsets in words, a
multiple of 4).  Keys are the output dtype: ``float16``/``float32``/``float64``
(uniform, normal, bernoulli, multinomial's inputs) and ``int64`` (randint and
the random keys of permutations).
"""
from __future__ import annotations

from ..codegen import CTYPE, FLOAT_DTYPES, KernelFamily, kernel_name, register_family

_HELPERS = r"""
typedef unsigned int u32;
typedef unsigned long long u64;

// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11).
__device__ __forceinline__ uint4 nr_philox(u64 block, u64 seed) {
  uint4 c = make_uint4((u32)block, (u32)(block >> 32), 0u, 0u);
  u32 k0 = (u32)seed, k1 = (u32)(seed >> 32);
#pragma unroll
  for (int r = 0; r < 10; ++r) {
    const u32 lo0 = 0xD2511F53u * c.x, hi0 = __umulhi(0xD2511F53u, c.x);
    const u32 lo1 = 0xCD9E8D57u * c.z, hi1 = __umulhi(0xCD9E8D57u, c.z);
    c = make_uint4(hi1 ^ c.y ^ k0, lo1, hi0 ^ c.w ^ k1, lo0);
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return c;
}

// [0, 1) with 24 (float) or 53 (double) random bits; the "open" forms give (0, 1] for logs.
__device__ __forceinline__ float nr_u01f(u32 x) { return (x >> 8) * 5.9604644775390625e-08f; }
__device__ __forceinline__ float nr_u01f_open(u32 x) { return ((x >> 8) + 1u) * 5.9604644775390625e-08f; }
__device__ __forceinline__ double nr_u01d(u32 a, u32 b) {
  return ((u64)(a >> 5) * 67108864ull + (b >> 6)) * 1.1102230246251565e-16; }
__device__ __forceinline__ double nr_u01d_open(u32 a, u32 b) {
  return ((u64)(a >> 5) * 67108864ull + (b >> 6) + 1ull) * 1.1102230246251565e-16; }
"""

_LOOP = "for (i64 t = blockIdx.x * (i64)blockDim.x + threadIdx.x; t < calls; t += (i64)gridDim.x * blockDim.x)"


def _float_kernels(dtype: str) -> str:
    t = CTYPE[dtype]
    k = lambda op: kernel_name("rand", op, dtype)  # noqa: E731
    if dtype == "float64":
        # Two doubles per call (two words each).
        uniform = """
    const double u[2] = {nr_u01d(r.x, r.y), nr_u01d(r.z, r.w)};
#pragma unroll
    for (int q = 0; q < 2; ++q) if (2 * t + q < n) out[2 * t + q] = u[q] * scale + shift;"""
        normal = """
    const double rad = sqrt(-2.0 * log(nr_u01d_open(r.x, r.y)));
    double s, c;
    sincospi(2.0 * nr_u01d(r.z, r.w), &s, &c);
    const double z[2] = {rad * c, rad * s};
#pragma unroll
    for (int q = 0; q < 2; ++q) if (2 * t + q < n) out[2 * t + q] = z[q] * scale + shift;"""
        per_call = 2
    else:
        # Four single-precision values per call, rounded to the output type at the end.
        uniform = f"""
    const float u[4] = {{nr_u01f(r.x), nr_u01f(r.y), nr_u01f(r.z), nr_u01f(r.w)}};
#pragma unroll
    for (int q = 0; q < 4; ++q)
      if (4 * t + q < n) out[4 * t + q] = nr_cast<{t}, float>(u[q] * (float)scale + (float)shift);"""
        normal = f"""
    float z[4];
#pragma unroll
    for (int h = 0; h < 2; ++h) {{
      const u32 a = h ? r.z : r.x, b = h ? r.w : r.y;
      const float rad = sqrtf(-2.0f * logf(nr_u01f_open(a)));
      float s, c;
      sincospif(2.0f * nr_u01f(b), &s, &c);
      z[2 * h] = rad * c;
      z[2 * h + 1] = rad * s;
    }}
#pragma unroll
    for (int q = 0; q < 4; ++q)
      if (4 * t + q < n) out[4 * t + q] = nr_cast<{t}, float>(z[q] * (float)scale + (float)shift);"""
        per_call = 4
    body = []
    for op, code in (("uniform", uniform), ("normal", normal)):
        # uniform: u * (high - low) + low; normal: z * std + mean.  calls = ceil(n / per_call).
        body.append(f"""
extern "C" __global__ void {k(op)}({t}* out, i64 seed, i64 base, double scale, double shift, i64 n) {{
  const i64 calls = (n + {per_call - 1}) / {per_call};
  {_LOOP} {{
    const uint4 r = nr_philox((u64)base + t, (u64)seed);{code}
  }}
}}
""")
    body.append(f"""
// bernoulli: out = (u < p) with a 53-bit u; two elements per call.  p is contiguous.
extern "C" __global__ void {k("bernoulli")}({t}* out, const {t}* p, i64 seed, i64 base, i64 n) {{
  const i64 calls = (n + 1) / 2;
  {_LOOP} {{
    const uint4 r = nr_philox((u64)base + t, (u64)seed);
    const double u[2] = {{nr_u01d(r.x, r.y), nr_u01d(r.z, r.w)}};
#pragma unroll
    for (int q = 0; q < 2; ++q)
      if (2 * t + q < n) out[2 * t + q] = nr_cast<{t}, double>(u[q] < nr_cast<double, {t}>(p[2 * t + q]) ? 1.0 : 0.0);
  }}
}}

// multinomial with replacement: each row's inclusive prefix sums (one block of 256 threads per row).
extern "C" __global__ void {k("cdf")}(const {t}* probs, double* cdf, i64 k) {{
  __shared__ double partial[256];
  __shared__ double carry;
  const i64 row = blockIdx.x;
  if (threadIdx.x == 0) carry = 0.0;
  for (i64 c0 = 0; c0 < k; c0 += 256) {{
    const i64 c = c0 + threadIdx.x;
    partial[threadIdx.x] = c < k ? nr_cast<double, {t}>(probs[row * k + c]) : 0.0;
    __syncthreads();
    // Hillis-Steele scan of this chunk (exact order fixed, so results are deterministic).
    for (int o = 1; o < 256; o <<= 1) {{
      const double add = threadIdx.x >= o ? partial[threadIdx.x - o] : 0.0;
      __syncthreads();
      partial[threadIdx.x] += add;
      __syncthreads();
    }}
    if (c < k) cdf[row * k + c] = carry + partial[threadIdx.x];
    __syncthreads();
    if (threadIdx.x == 0) carry += partial[255];
    __syncthreads();
  }}
}}

// Sample s of row r: the first category whose cdf exceeds u * total (zero-probability categories
// never qualify); rounding that leaves none picks the last category of positive probability.
extern "C" __global__ void {k("draw")}(const double* cdf, i64* out, i64 k, i64 samples, i64 seed, i64 base,
    i64 n) {{
  const i64 calls = n;
  {_LOOP} {{
    const uint4 r = nr_philox((u64)base + t, (u64)seed);
    const double* row = cdf + (t / samples) * k;
    const double target = nr_u01d(r.x, r.y) * row[k - 1];
    i64 lo = 0, hi = k;
    while (lo < hi) {{
      const i64 mid = (lo + hi) / 2;
      if (row[mid] > target) hi = mid; else lo = mid + 1;
    }}
    if (lo == k) {{
      lo = k - 1;
      while (lo > 0 && row[lo] == row[lo - 1]) --lo;
    }}
    out[t] = lo;
  }}
}}

// multinomial without replacement: exponential race keys E / p (E ~ Exp(1)); the smallest
// num_samples keys of a row are a weighted sample without replacement.  p == 0 never wins.
extern "C" __global__ void {k("race")}(const {t}* probs, double* keys, i64 seed, i64 base, i64 n) {{
  const i64 calls = n;
  {_LOOP} {{
    const uint4 r = nr_philox((u64)base + t, (u64)seed);
    const double p = nr_cast<double, {t}>(probs[t]);
    keys[t] = p > 0.0 ? -log(nr_u01d_open(r.x, r.y)) / p : (double)INFINITY;
  }}
}}
""")
    return "".join(body)


def _int_kernels() -> str:
    k = lambda op: kernel_name("rand", op, "int64")  # noqa: E731
    return f"""
// randint: low + r mod range over 64 random bits (range 0 means all 2**64 values); two per call.
extern "C" __global__ void {k("randint")}(i64* out, i64 seed, i64 base, i64 low, i64 range, i64 n) {{
  const i64 calls = (n + 1) / 2;
  {_LOOP} {{
    const uint4 r = nr_philox((u64)base + t, (u64)seed);
    const u64 v[2] = {{((u64)r.x << 32) | r.y, ((u64)r.z << 32) | r.w}};
#pragma unroll
    for (int q = 0; q < 2; ++q)
      if (2 * t + q < n) out[2 * t + q] = (i64)((u64)low + (range == 0 ? v[q] : v[q] % (u64)range));
  }}
}}
"""


def _render(key: tuple) -> str:
    (dtype,) = key
    return _int_kernels() if dtype == "int64" else _float_kernels(dtype)


register_family(KernelFamily("random", _render, lambda: [(d,) for d in FLOAT_DTYPES + ("int64",)],
                             helpers=_HELPERS))
