"""nn kernel templates: im2col/col2im, conv epilogues and pooling (NCHW, C-contiguous).

Keys are ``(dtype,)`` with dtype float32 or float64 (the ops accept nothing
else).  Every kernel exists for 32- and 64-bit index arithmetic
(``_i32``/``_i64`` suffix): the host picks ``i32`` whenever every index of
the launch fits, because 64-bit division is several times slower on a GPU
and these kernels divide a linear index into 4-5 coordinates.

The sums of the gather-formulated kernels (col2im, the average-pool
backwards) run in the order of the CPU kernels' scatter loops, so results
match them bit for bit; only max-pool backward scatters with atomics.

The norm, loss and optimizer families live in ``nn_norm.py`` and
``nn_optim.py`` (imported below so that importing this module registers them).
"""
from __future__ import annotations

from ..codegen import CTYPE, KernelFamily, kernel_name, register_family

NN_DTYPES = ("float32", "float64")
INDEX_TYPES = {"i32": "int", "i64": "long long"}

# Device templates shared by every key; ``I`` is the index type, ``T`` the element type.
_CONV_HELPERS = r"""
template <typename I>
__device__ __forceinline__ I nr_grid_start() { return (I)blockIdx.x * (I)blockDim.x + (I)threadIdx.x; }
template <typename I>
__device__ __forceinline__ I nr_grid_step() { return (I)gridDim.x * (I)blockDim.x; }

// cols[g*sG + k*sK + n*sN + l] = x[n, c, ih, iw] (0 outside the input), k = (cg*kh + ki)*kw + kj,
// c = g*Cg + cg, l = oh*OW + ow.  One thread per column element; l is fastest (coalesced writes).
template <typename T, typename I>
__device__ void nr_im2col(const T* __restrict__ x, T* __restrict__ cols, I N, I C, I H, I W,
                          I kh, I kw, I sh, I sw, I ph, I pw, I dh, I dw, I OH, I OW,
                          I Cg, I sG, I sK, I sN) {
  const I L = OH * OW, total = C * kh * kw * N * L;
  for (I i = nr_grid_start<I>(); i < total; i += nr_grid_step<I>()) {
    const I l = i % L;
    I t = i / L;
    const I n = t % N; t /= N;
    const I kj = t % kw; t /= kw;
    const I ki = t % kh;
    const I c = t / kh;
    const I g = c / Cg, cg = c - g * Cg;
    const I oh = l / OW, ow = l - oh * OW;
    const I ih = oh * sh - ph + ki * dh, iw = ow * sw - pw + kj * dw;
    T v = T(0);
    if (ih >= 0 && ih < H && iw >= 0 && iw < W) v = x[((n * C + c) * H + ih) * W + iw];
    cols[g * sG + ((cg * kh + ki) * kw + kj) * sK + n * sN + l] = v;
  }
}

// The adjoint of nr_im2col as a gather: each input element sums the column entries that
// read it, in (ki, kj) order -- the order in which the CPU's col2im adds them.
template <typename T, typename I>
__device__ void nr_col2im(const T* __restrict__ cols, T* __restrict__ x, I N, I C, I H, I W,
                          I kh, I kw, I sh, I sw, I ph, I pw, I dh, I dw, I OH, I OW,
                          I Cg, I sG, I sK, I sN) {
  const I total = N * C * H * W;
  for (I i = nr_grid_start<I>(); i < total; i += nr_grid_step<I>()) {
    const I iw = i % W;
    I t = i / W;
    const I ih = t % H; t /= H;
    const I c = t % C;
    const I n = t / C;
    const I g = c / Cg, cg = c - g * Cg;
    const T* base = cols + g * sG + n * sN;
    T acc = T(0);
    for (I ki = 0; ki < kh; ++ki) {
      const I a = ih + ph - ki * dh;  // = oh * sh
      if (a < 0) break;               // decreasing in ki
      if (a % sh) continue;
      const I oh = a / sh;
      if (oh >= OH) continue;
      for (I kj = 0; kj < kw; ++kj) {
        const I b = iw + pw - kj * dw;
        if (b < 0) break;
        if (b % sw) continue;
        const I ow = b / sw;
        if (ow >= OW) continue;
        acc += base[((cg * kh + ki) * kw + kj) * sK + oh * OW + ow];
      }
    }
    x[i] = acc;
  }
}

// y[n, o, l] = out[o, n, l] (+ bias[o]): the grouped GEMM's (O, N*L) result into NCHW.
template <typename T, typename I>
__device__ void nr_conv_finish(T* __restrict__ y, const T* __restrict__ out, const T* __restrict__ bias,
                               I N, I O, I L) {
  const I total = N * O * L;
  for (I i = nr_grid_start<I>(); i < total; i += nr_grid_step<I>()) {
    const I l = i % L, t = i / L, o = t % O, n = t / O;
    const T v = out[(o * N + n) * L + l];
    y[i] = bias ? v + bias[o] : v;
  }
}

// y[n, o, l] += bias[o], in place.
template <typename T, typename I>
__device__ void nr_bias_add(T* __restrict__ y, const T* __restrict__ bias, I N, I O, I L) {
  const I total = N * O * L;
  for (I i = nr_grid_start<I>(); i < total; i += nr_grid_step<I>()) y[i] += bias[(i / L) % O];
}

// First k >= 0 with s + k*d >= 0, and one past the last k < kmax with s + k*d < n.
template <typename I>
__device__ __forceinline__ void nr_window(I s, I d, I kmax, I n, I& k0, I& k1) {
  k0 = s >= 0 ? 0 : (-s + d - 1) / d;
  if (s + (kmax - 1) * d < n) k1 = kmax;
  else k1 = (n - 1 - s) >= 0 ? (n - 1 - s) / d + 1 : 0;
}

// Max over each window; NaN wins (the last NaN of the window in row-major order), else the
// first maximum.  A window with no input element gives -inf and index -1, as on the CPU.
template <typename T, typename I>
__device__ void nr_max_pool(const T* __restrict__ x, T* __restrict__ y, long long* __restrict__ idx,
                            I P, I H, I W, I OH, I OW, I kh, I kw, I sh, I sw, I ph, I pw, I dh, I dw) {
  const I total = P * OH * OW;
  for (I i = nr_grid_start<I>(); i < total; i += nr_grid_step<I>()) {
    const I ow = i % OW, t = i / OW, oh = t % OH, p = t / OH;
    const T* plane = x + p * H * W;
    const I hs = oh * sh - ph, ws = ow * sw - pw;
    I k0, k1, j0, j1;
    nr_window<I>(hs, dh, kh, H, k0, k1);
    nr_window<I>(ws, dw, kw, W, j0, j1);
    long long best_i = -1;
    T best = -INFINITY;
    if (k0 < k1 && j0 < j1) {
      best_i = (long long)(hs + k0 * dh) * W + ws + j0 * dw;
      best = plane[best_i];
    }
    for (I ki = k0; ki < k1; ++ki) {
      const I row = (hs + ki * dh) * W;
      for (I kj = j0; kj < j1; ++kj) {
        const I cand = row + ws + kj * dw;
        const T v = plane[cand];
        if (v > best || v != v) { best = v; best_i = cand; }
      }
    }
    y[i] = best;
    idx[i] = best_i;
  }
}

// gx (zeroed by the caller) += g at the argmax positions.  Indices outside the plane other
// than -1 are skipped and flagged (the host raises IndexError, as the CPU kernel does).
template <typename T, typename I>
__device__ void nr_max_pool_bwd(const T* __restrict__ g, const long long* __restrict__ idx,
                                T* __restrict__ gx, unsigned int* __restrict__ bad, I P, I HW, I L) {
  const I total = P * L;
  for (I i = nr_grid_start<I>(); i < total; i += nr_grid_step<I>()) {
    const long long j = idx[i];
    if (j >= 0 && j < (long long)HW) atomicAdd(gx + (i / L) * HW + (I)j, g[i]);
    else if (j != -1) *bad = 1u;
  }
}

// The divisor of average-pool window (oh, ow); see pool.pyx (_avg) for the two clippings.
template <typename I>
__device__ __forceinline__ I nr_avg_count(I h0, I w0, I H, I W, I kh, I kw, I ph, I pw,
                                          int include_pad, I divisor, I& h1, I& w1) {
  h1 = min(h0 + kh, H + ph);
  w1 = min(w0 + kw, W + pw);
  I count = (h1 - h0) * (w1 - w0);
  if (!include_pad) count = (min(h1, H) - max(h0, (I)0)) * (min(w1, W) - max(w0, (I)0));
  if (divisor > 0) count = divisor;
  return count;
}

template <typename T, typename I>
__device__ void nr_avg_pool(const T* __restrict__ x, T* __restrict__ y, I P, I H, I W, I OH, I OW,
                            I kh, I kw, I sh, I sw, I ph, I pw, int include_pad, I divisor) {
  const I total = P * OH * OW;
  for (I i = nr_grid_start<I>(); i < total; i += nr_grid_step<I>()) {
    const I ow = i % OW, t = i / OW, oh = t % OH, p = t / OH;
    const I h0 = oh * sh - ph, w0 = ow * sw - pw;
    I h1, w1;
    const I count = nr_avg_count<I>(h0, w0, H, W, kh, kw, ph, pw, include_pad, divisor, h1, w1);
    double acc = 0.0;
    for (I ih = max(h0, (I)0); ih < min(h1, H); ++ih)
      for (I iw = max(w0, (I)0); iw < min(w1, W); ++iw) acc = acc + (double)x[(p * H + ih) * W + iw];
    y[i] = count > 0 ? (T)(acc / (double)count) : T(0);
  }
}

// Gather form of the average-pool adjoint: windows oh with oh*sh - ph <= ih < oh*sh - ph + kh,
// visited in (oh, ow) order like the CPU's scatter.
template <typename T, typename I>
__device__ void nr_avg_pool_bwd(const T* __restrict__ g, T* __restrict__ gx, I P, I H, I W, I OH, I OW,
                                I kh, I kw, I sh, I sw, I ph, I pw, int include_pad, I divisor) {
  const I total = P * H * W;
  for (I i = nr_grid_start<I>(); i < total; i += nr_grid_step<I>()) {
    const I iw = i % W, t = i / W, ih = t % H, p = t / H;
    const I ah = ih + ph - kh + 1, aw = iw + pw - kw + 1;
    const I oh0 = ah > 0 ? (ah + sh - 1) / sh : 0, oh1 = min((ih + ph) / sh + 1, OH);
    const I ow0 = aw > 0 ? (aw + sw - 1) / sw : 0, ow1 = min((iw + pw) / sw + 1, OW);
    T acc = T(0);
    for (I oh = oh0; oh < oh1; ++oh) {
      for (I ow = ow0; ow < ow1; ++ow) {
        I h1, w1;
        const I count = nr_avg_count<I>(oh * sh - ph, ow * sw - pw, H, W, kh, kw, ph, pw,
                                        include_pad, divisor, h1, w1);
        const double share = count > 0 ? (double)g[(p * OH + oh) * OW + ow] / (double)count : 0.0;
        acc += (T)share;
      }
    }
    gx[i] = acc;
  }
}

// Adaptive bins: bin o of n_out over n covers [floor(o*n/n_out), ceil((o+1)*n/n_out)).
template <typename T, typename I>
__device__ void nr_adaptive_pool(const T* __restrict__ x, T* __restrict__ y, I P, I H, I W, I OH, I OW) {
  const I total = P * OH * OW;
  for (I i = nr_grid_start<I>(); i < total; i += nr_grid_step<I>()) {
    const I ow = i % OW, t = i / OW, oh = t % OH, p = t / OH;
    const I h0 = (oh * H) / OH, h1 = ((oh + 1) * H + OH - 1) / OH;
    const I w0 = (ow * W) / OW, w1 = ((ow + 1) * W + OW - 1) / OW;
    double acc = 0.0;
    for (I ih = h0; ih < h1; ++ih)
      for (I iw = w0; iw < w1; ++iw) acc = acc + (double)x[(p * H + ih) * W + iw];
    y[i] = (T)(acc / (double)((h1 - h0) * (w1 - w0)));
  }
}

// Input ih lies in bins [floor(ih*OH/H), ceil((ih+1)*OH/H)); visited in (oh, ow) order.
template <typename T, typename I>
__device__ void nr_adaptive_pool_bwd(const T* __restrict__ g, T* __restrict__ gx, I P, I H, I W,
                                     I OH, I OW) {
  const I total = P * H * W;
  for (I i = nr_grid_start<I>(); i < total; i += nr_grid_step<I>()) {
    const I iw = i % W, t = i / W, ih = t % H, p = t / H;
    const I oh0 = (ih * OH) / H, oh1 = ((ih + 1) * OH + H - 1) / H;
    const I ow0 = (iw * OW) / W, ow1 = ((iw + 1) * OW + W - 1) / W;
    T acc = T(0);
    for (I oh = oh0; oh < oh1; ++oh) {
      const I h0 = (oh * H) / OH, h1 = ((oh + 1) * H + OH - 1) / OH;
      for (I ow = ow0; ow < ow1; ++ow) {
        const I w0 = (ow * W) / OW, w1 = ((ow + 1) * W + OW - 1) / OW;
        const double share = (double)g[(p * OH + oh) * OW + ow] / (double)((h1 - h0) * (w1 - w0));
        acc += (T)share;
      }
    }
    gx[i] = acc;
  }
}
"""

# (kernel, C parameter list after the pointers, template call arguments).  ``I`` in the
# parameter lists is replaced by the index type of the variant.
_GEOM = "I kh, I kw, I sh, I sw, I ph, I pw, I dh, I dw, I OH, I OW"
_GEOM_ARGS = "kh, kw, sh, sw, ph, pw, dh, dw, OH, OW"
_CONV_KERNELS = {
    "im2col": ("const T* x, T* cols, I N, I C, I H, I W, " + _GEOM + ", I Cg, I sG, I sK, I sN",
               "x, cols, N, C, H, W, " + _GEOM_ARGS + ", Cg, sG, sK, sN"),
    "col2im": ("const T* cols, T* x, I N, I C, I H, I W, " + _GEOM + ", I Cg, I sG, I sK, I sN",
               "cols, x, N, C, H, W, " + _GEOM_ARGS + ", Cg, sG, sK, sN"),
    "conv_finish": ("T* y, const T* out, const T* bias, I N, I O, I L", "y, out, bias, N, O, L"),
    "bias_add": ("T* y, const T* bias, I N, I O, I L", "y, bias, N, O, L"),
}
_POOL_KERNELS = {
    "max_pool": ("const T* x, T* y, long long* idx, I P, I H, I W, I OH, I OW, I kh, I kw, I sh, I sw, "
                 "I ph, I pw, I dh, I dw",
                 "x, y, idx, P, H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw"),
    "max_pool_bwd": ("const T* g, const long long* idx, T* gx, unsigned int* bad, I P, I HW, I L",
                     "g, idx, gx, bad, P, HW, L"),
    "avg_pool": ("const T* x, T* y, I P, I H, I W, I OH, I OW, I kh, I kw, I sh, I sw, I ph, I pw, "
                 "int include_pad, I divisor",
                 "x, y, P, H, W, OH, OW, kh, kw, sh, sw, ph, pw, include_pad, divisor"),
    "avg_pool_bwd": ("const T* g, T* gx, I P, I H, I W, I OH, I OW, I kh, I kw, I sh, I sw, I ph, I pw, "
                     "int include_pad, I divisor",
                     "g, gx, P, H, W, OH, OW, kh, kw, sh, sw, ph, pw, include_pad, divisor"),
    "adaptive_pool": ("const T* x, T* y, I P, I H, I W, I OH, I OW", "x, y, P, H, W, OH, OW"),
    "adaptive_pool_bwd": ("const T* g, T* gx, I P, I H, I W, I OH, I OW", "g, gx, P, H, W, OH, OW"),
}


def _wrappers(kind: str, table: dict, dtype: str) -> str:
    """One ``extern "C"`` wrapper per (kernel, index type) calling the template ``nr_<kernel>``."""
    t = CTYPE[dtype]
    out = []
    for op, (params, args) in table.items():
        for suffix, itype in INDEX_TYPES.items():
            name = kernel_name(kind, op, dtype, suffix)
            p = params.replace("const T*", f"const {t}*").replace("T*", f"{t}*")
            p = ", ".join(part.replace("I ", f"{itype} ", 1) if part.strip().startswith("I ") else part
                          for part in p.split(", "))
            out.append(f'extern "C" __global__ void {name}({p}) {{ nr_{op}<{t}, {itype}>({args}); }}')
    return "\n".join(out) + "\n"


def _render_conv(key: tuple) -> str:
    (dtype,) = key
    return _wrappers("conv", _CONV_KERNELS, dtype)


def _render_pool(key: tuple) -> str:
    (dtype,) = key
    return _wrappers("pool", _POOL_KERNELS, dtype)


def arg_format(kind: str, op: str, wide: bool) -> str:
    """pycuda ``prepare`` format of kernel ``op``: P per pointer, i/q per index, i per int."""
    table = _CONV_KERNELS if kind == "conv" else _POOL_KERNELS
    chars = []
    for part in table[op][0].split(", "):
        part = part.strip()
        if "*" in part:
            chars.append("P")
        elif part.startswith("I "):
            chars.append("q" if wide else "i")
        else:
            chars.append("i")
    return "".join(chars)


register_family(KernelFamily("nn_conv", _render_conv, lambda: [(d,) for d in NN_DTYPES],
                             helpers=_CONV_HELPERS))
register_family(KernelFamily("nn_pool", _render_pool, lambda: [(d,) for d in NN_DTYPES],
                             helpers=_CONV_HELPERS))

from . import nn_norm, nn_optim  # noqa: E402,F401  (register the norm, loss and optimizer families)
