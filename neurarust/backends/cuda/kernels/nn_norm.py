"""Norm and cross-entropy kernel templates (keys ``(dtype,)``, float32/float64).

Statistics follow ``neurarust/_core/norm.pyx``: sums of values shifted by a
group's first element, accumulated in double, biased variance clamped at 0.
Per-channel sums over (N, S) use a 2-D block: (32, 8) threads when S == 1
(32 neighbouring channels of a row are contiguous: coalesced), (1, 256)
otherwise (a channel's runs of S values are contiguous).  Per-group sums
(group/layer norm) use one 1-D block per group with warp-shuffle
reductions.  The normalising passes are separate grid-stride kernels, so
they use the whole GPU even when there are few channels.

Cross-entropy follows ``neurarust/_core/include/nr_nn_loss.h``: one warp per
row for the forward, one thread per logit for the backward.
"""
from __future__ import annotations

from ..codegen import CTYPE, KernelFamily, kernel_name, register_family

NN_DTYPES = ("float32", "float64")

_HELPERS = r"""
__device__ __forceinline__ float nr_exp(float v) { return expf(v); }
__device__ __forceinline__ double nr_exp(double v) { return exp(v); }

// Two double sums per channel of an (N, C, S) array, over its N*S elements.  blockDim is
// (TX, TY) with TY a power of two and TX*TY <= 256; the block handles channels
// blockIdx.x*TX + threadIdx.x.  f(n, c, s, i, a, b) accumulates element i = (n*C + c)*S + s.
// Every thread of the block must call it; the sums are returned to the threads with ty == 0.
template <typename F>
__device__ void nr_chan_sums(const F& f, i64 N, i64 C, i64 S, double& a, double& b) {
  __shared__ double sa[256], sb[256];
  const int tx = threadIdx.x, ty = threadIdx.y, TX = blockDim.x, TY = blockDim.y;
  const i64 c = (i64)blockIdx.x * TX + tx;
  double acc_a = 0.0, acc_b = 0.0;
  if (c < C) {
    const i64 M = N * S;
    for (i64 j = ty; j < M; j += TY) {
      const i64 n = j / S, s = j - n * S;
      f(n, c, s, (n * C + c) * S + s, acc_a, acc_b);
    }
  }
  sa[ty * TX + tx] = acc_a;
  sb[ty * TX + tx] = acc_b;
  __syncthreads();
  for (int k = TY / 2; k > 0; k >>= 1) {
    if (ty < k) {
      sa[ty * TX + tx] += sa[(ty + k) * TX + tx];
      sb[ty * TX + tx] += sb[(ty + k) * TX + tx];
    }
    __syncthreads();
  }
  a = sa[tx];
  b = sb[tx];
}

template <typename T> struct NrBnStats {
  const T* x; double shift;
  __device__ void operator()(i64, i64, i64, i64 i, double& a, double& b) const {
    const double d = (double)x[i] - shift; a += d; b += d * d;
  }
};
template <typename T> struct NrBnGrad {
  const T* g; const T* x; double m;
  __device__ void operator()(i64, i64, i64, i64 i, double& a, double& b) const {
    a += (double)g[i]; b += (double)g[i] * ((double)x[i] - m);
  }
};
// Affine gradients of group/layer norm: element (n, c, s) belongs to group n*G + c/cpr.
template <typename T> struct NrGnAffine {
  const T* g; const T* x; const double* mean; const double* rstd; i64 G, cpr;
  __device__ void operator()(i64 n, i64 c, i64, i64 i, double& a, double& b) const {
    const i64 r = n * G + c / cpr;
    a += (double)g[i] * ((double)x[i] - mean[r]) * rstd[r]; b += (double)g[i];
  }
};

// Batch-norm statistics of channel c: mean, rstd = 1/sqrt(var + eps), biased var (double).
template <typename T>
__device__ void nr_bn_stats(const T* x, double* mean, double* rstd, double* var, i64 N, i64 C, i64 S,
                            double eps) {
  const i64 c = (i64)blockIdx.x * blockDim.x + threadIdx.x;
  NrBnStats<T> f{x, c < C ? (double)x[c * S] : 0.0};
  double s, sq;
  nr_chan_sums(f, N, C, S, s, sq);
  if (threadIdx.y == 0 && c < C) {
    const double n = (double)(N * S);
    double v = (sq - s * s / n) / n;
    if (v < 0) v = 0.0;
    mean[c] = f.shift + s / n;
    var[c] = v;
    rstd[c] = 1.0 / sqrt(v + eps);
  }
}

// y = x * scale + shift with scale = rstd*w, shift = b - mean*scale (per channel, in double).
template <typename T>
__device__ void nr_bn_apply(const T* x, const T* w, const T* b, const double* mean, const double* rstd,
                            T* y, i64 total, i64 C, i64 S) {
  for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < total; i += (i64)gridDim.x * blockDim.x) {
    const i64 c = (i / S) % C;
    const double scale = rstd[c] * (w ? (double)w[c] : 1.0);
    const double shift = (b ? (double)b[c] : 0.0) - mean[c] * scale;
    y[i] = (T)((double)x[i] * scale + shift);
  }
}

// Per-channel sums of g and g*(x - mean); writes gw, gb and the gx coefficients (a1, a2).
template <typename T>
__device__ void nr_bn_grad_sums(const T* g, const T* x, const double* mean, const double* rstd, T* gw,
                                T* gb, double* coef, i64 N, i64 C, i64 S) {
  const i64 c = (i64)blockIdx.x * blockDim.x + threadIdx.x;
  NrBnGrad<T> f{g, x, c < C ? mean[c] : 0.0};
  double sg, sgd;
  nr_chan_sums(f, N, C, S, sg, sgd);
  if (threadIdx.y == 0 && c < C) {
    const double r = rstd[c], M = (double)(N * S);
    if (gw) gw[c] = (T)(sgd * r);
    if (gb) gb[c] = (T)sg;
    if (coef) { coef[c] = sg / M; coef[C + c] = sgd * r * r / M; }
  }
}

// gx = w r (g - a1 - (x - mean) a2) in training (coef holds a1, a2), w r g otherwise.
template <typename T>
__device__ void nr_bn_grad_input(const T* g, const T* x, const double* mean, const double* rstd,
                                 const T* w, const double* coef, T* gx, i64 total, i64 C, i64 S,
                                 int training) {
  for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < total; i += (i64)gridDim.x * blockDim.x) {
    const i64 c = (i / S) % C;
    const double k = (w ? (double)w[c] : 1.0) * rstd[c];
    if (training)
      gx[i] = (T)(k * ((double)g[i] - coef[c] - ((double)x[i] - mean[c]) * coef[C + c]));
    else
      gx[i] = (T)(k * (double)g[i]);
  }
}

// Statistics of group r (one 1-D block per group of `length` contiguous values).
template <typename T>
__device__ void nr_gn_stats(const T* x, double* mean, double* rstd, i64 length, double eps) {
  const T* row = x + (i64)blockIdx.x * length;
  const double shift = (double)row[0];
  double s = 0.0, sq = 0.0;
  for (i64 j = threadIdx.x; j < length; j += blockDim.x) {
    const double d = (double)row[j] - shift;
    s += d;
    sq += d * d;
  }
  s = nr_block_reduce(s, NrSum<double>(), 0.0);
  sq = nr_block_reduce(sq, NrSum<double>(), 0.0);
  if (threadIdx.x == 0) {
    const double n = (double)length;
    double v = (sq - s * s / n) / n;
    if (v < 0) v = 0.0;
    mean[blockIdx.x] = shift + s / n;
    rstd[blockIdx.x] = 1.0 / sqrt(v + eps);
  }
}

// The affine channel of element j of group r: (r % gpc) * cpr + j / S.
template <typename T>
__device__ void nr_gn_apply(const T* x, const T* w, const T* b, const double* mean, const double* rstd,
                            T* y, i64 total, i64 length, i64 S, i64 cpr, i64 gpc) {
  for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < total; i += (i64)gridDim.x * blockDim.x) {
    const i64 r = i / length, j = i - r * length, ch = (r % gpc) * cpr + j / S;
    const double wc = w ? (double)w[ch] : 1.0, bc = b ? (double)b[ch] : 0.0;
    y[i] = (T)(((double)x[i] - mean[r]) * rstd[r] * wc + bc);
  }
}

// Input gradient of group r (one block per group): gx = k (g w - a1 - (x - m) a2).
template <typename T>
__device__ void nr_gn_grad_input(const T* g, const T* x, const double* mean, const double* rstd,
                                 const T* w, T* gx, i64 length, i64 S, i64 cpr, i64 gpc) {
  __shared__ double coef[2];
  const i64 r = blockIdx.x, base = r * length;
  const double m = mean[r], k = rstd[r];
  double a1 = 0.0, a2 = 0.0;
  for (i64 j = threadIdx.x; j < length; j += blockDim.x) {
    const i64 ch = (r % gpc) * cpr + j / S;
    const double gh = (double)g[base + j] * (w ? (double)w[ch] : 1.0);
    a1 += gh;
    a2 += gh * ((double)x[base + j] - m);
  }
  a1 = nr_block_reduce(a1, NrSum<double>(), 0.0);
  a2 = nr_block_reduce(a2, NrSum<double>(), 0.0);
  if (threadIdx.x == 0) { coef[0] = a1 / (double)length; coef[1] = a2 * k * k / (double)length; }
  __syncthreads();
  a1 = coef[0];
  a2 = coef[1];
  for (i64 j = threadIdx.x; j < length; j += blockDim.x) {
    const i64 ch = (r % gpc) * cpr + j / S;
    const double wc = w ? (double)w[ch] : 1.0;
    gx[base + j] = (T)(k * ((double)g[base + j] * wc - a1 - ((double)x[base + j] - m) * a2));
  }
}

template <typename T>
__device__ void nr_gn_affine(const T* g, const T* x, const double* mean, const double* rstd, T* gw, T* gb,
                             i64 N, i64 C, i64 S, i64 G, i64 cpr) {
  const i64 c = (i64)blockIdx.x * blockDim.x + threadIdx.x;
  NrGnAffine<T> f{g, x, mean, rstd, G, cpr};
  double sw, sb;
  nr_chan_sums(f, N, C, S, sw, sb);
  if (threadIdx.y == 0 && c < C) {
    if (gw) gw[c] = (T)sw;
    if (gb) gb[c] = (T)sb;
  }
}

// --------------------------------------------------------------- cross-entropy
// Sum of the class weights, in double (one block).
template <typename T>
__device__ void nr_ce_weight_total(const T* w, double* out, i64 C) {
  double s = 0.0;
  for (i64 i = threadIdx.x; i < C; i += blockDim.x) s += (double)w[i];
  s = nr_block_reduce(s, NrSum<double>(), 0.0);
  if (threadIdx.x == 0) *out = s;
}

template <typename T>
__device__ __forceinline__ T nr_nan_max(T m, T v) { return (v > m || v != v) ? v : m; }

// One warp per row: lse, loss, nll, smooth and w_target (see nr_nn_loss.h).  A target that is
// neither ignore_index nor in [0, C) zeroes its row and records N - row in *bad (the largest
// value, i.e. the first bad row, wins); the host raises IndexError.
template <typename T>
__device__ void nr_ce_forward(const T* x, const long long* t, const T* w, const double* wtot_p,
                              double wtot, long long ignore, i64 N, i64 C, int smooth, double ls,
                              T* lse_o, T* loss_o, T* nll_o, T* sm_o, T* wt_o, unsigned long long* bad) {
  const int lane = threadIdx.x & 31;
  const i64 wpb = blockDim.x >> 5;
  if (wtot_p) wtot = *wtot_p;
  for (i64 r = (i64)blockIdx.x * wpb + (threadIdx.x >> 5); r < N; r += (i64)gridDim.x * wpb) {
    const long long tr = t[r];
    if (tr == ignore || tr < 0 || tr >= C) {
      if (lane == 0) {
        lse_o[r] = T(0); loss_o[r] = T(0); nll_o[r] = T(0); sm_o[r] = T(0); wt_o[r] = T(0);
        if (tr != ignore) atomicMax(bad, (unsigned long long)(N - r));
      }
      continue;
    }
    const T* xr = x + r * C;
    T m = -INFINITY;
    for (i64 i = lane; i < C; i += 32) m = nr_nan_max(m, xr[i]);
    for (int o = 16; o > 0; o >>= 1) m = nr_nan_max(m, __shfl_xor_sync(NR_FULL_MASK, m, o));
    if (m == -INFINITY) m = T(0);  // all -inf: lse = log(0) = -inf
    double s = 0.0, wx = 0.0;
    for (i64 i = lane; i < C; i += 32) {
      s += (double)nr_exp(xr[i] - m);
      if (smooth) wx += w ? (double)w[i] * (double)xr[i] : (double)xr[i];
    }
    for (int o = 16; o > 0; o >>= 1) {
      s += __shfl_xor_sync(NR_FULL_MASK, s, o);
      wx += __shfl_xor_sync(NR_FULL_MASK, wx, o);
    }
    if (lane == 0) {
      const double lse = (double)m + log(s);
      const double wt = w ? (double)w[tr] : 1.0;
      const double nll = wt * (lse - (double)xr[tr]);
      const double sm = smooth ? lse * wtot - wx : 0.0;
      lse_o[r] = (T)lse; nll_o[r] = (T)nll; sm_o[r] = (T)sm; wt_o[r] = (T)wt;
      loss_o[r] = (T)((1.0 - ls) * nll + (ls / (double)C) * sm);
    }
  }
}

// gx = p * (A w[t] + B W) - B w[c] - [c == t] A w[t] per logit, A = ca * gout_r, B = cb * gout_r.
template <typename T>
__device__ void nr_ce_backward(const T* x, const long long* t, const T* w, const double* wtot_p,
                               double wtot, long long ignore, const T* lse, const T* gout, double ca,
                               double cb, T* gx, i64 N, i64 C) {
  if (wtot_p) wtot = *wtot_p;
  const i64 total = N * C;
  for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < total; i += (i64)gridDim.x * blockDim.x) {
    const i64 r = i / C, c = i - r * C;
    const long long tr = t[r];
    if (tr == ignore || tr < 0 || tr >= C) { gx[i] = T(0); continue; }
    const double g = gout ? (double)gout[r] : 1.0;
    const double alpha = ca * g * (w ? (double)w[tr] : 1.0);
    const T beta = (T)(cb * g);
    const T scale = (T)(alpha + cb * g * wtot);
    T v = nr_exp(x[i] - lse[r]) * scale - (w ? beta * w[c] : beta);
    if (c == tr) v -= (T)alpha;
    gx[i] = v;
  }
}
"""

# kernel -> (parameter list, call arguments); T is replaced by the element type.
_KERNELS = {
    "bn_stats": ("const T* x, double* mean, double* rstd, double* var, i64 N, i64 C, i64 S, double eps",
                 "x, mean, rstd, var, N, C, S, eps"),
    "bn_apply": ("const T* x, const T* w, const T* b, const double* mean, const double* rstd, T* y, "
                 "i64 total, i64 C, i64 S", "x, w, b, mean, rstd, y, total, C, S"),
    "bn_grad_sums": ("const T* g, const T* x, const double* mean, const double* rstd, T* gw, T* gb, "
                     "double* coef, i64 N, i64 C, i64 S", "g, x, mean, rstd, gw, gb, coef, N, C, S"),
    "bn_grad_input": ("const T* g, const T* x, const double* mean, const double* rstd, const T* w, "
                      "const double* coef, T* gx, i64 total, i64 C, i64 S, int training",
                      "g, x, mean, rstd, w, coef, gx, total, C, S, training"),
    "gn_stats": ("const T* x, double* mean, double* rstd, i64 length, double eps",
                 "x, mean, rstd, length, eps"),
    "gn_apply": ("const T* x, const T* w, const T* b, const double* mean, const double* rstd, T* y, "
                 "i64 total, i64 length, i64 S, i64 cpr, i64 gpc",
                 "x, w, b, mean, rstd, y, total, length, S, cpr, gpc"),
    "gn_grad_input": ("const T* g, const T* x, const double* mean, const double* rstd, const T* w, "
                      "T* gx, i64 length, i64 S, i64 cpr, i64 gpc",
                      "g, x, mean, rstd, w, gx, length, S, cpr, gpc"),
    "gn_affine": ("const T* g, const T* x, const double* mean, const double* rstd, T* gw, T* gb, "
                  "i64 N, i64 C, i64 S, i64 G, i64 cpr", "g, x, mean, rstd, gw, gb, N, C, S, G, cpr"),
    "ce_weight_total": ("const T* w, double* out, i64 C", "w, out, C"),
    "ce_forward": ("const T* x, const long long* t, const T* w, const double* wtot_p, double wtot, "
                   "long long ignore, i64 N, i64 C, int smooth, double ls, T* lse_o, T* loss_o, "
                   "T* nll_o, T* sm_o, T* wt_o, unsigned long long* bad",
                   "x, t, w, wtot_p, wtot, ignore, N, C, smooth, ls, lse_o, loss_o, nll_o, sm_o, wt_o, bad"),
    "ce_backward": ("const T* x, const long long* t, const T* w, const double* wtot_p, double wtot, "
                    "long long ignore, const T* lse, const T* gout, double ca, double cb, T* gx, "
                    "i64 N, i64 C", "x, t, w, wtot_p, wtot, ignore, lse, gout, ca, cb, gx, N, C"),
}


def arg_format(op: str) -> str:
    """pycuda ``prepare`` format of kernel ``op``."""
    chars = []
    for part in _KERNELS[op][0].split(", "):
        ctype = part.rsplit(" ", 1)[0]
        chars.append("P" if "*" in ctype else {"double": "d", "int": "i"}.get(ctype, "q"))
    return "".join(chars)


def _render(key: tuple) -> str:
    (dtype,) = key
    t = CTYPE[dtype]
    out = []
    for op, (params, args) in _KERNELS.items():
        p = params.replace("T*", f"{t}*")
        out.append(f'extern "C" __global__ void {kernel_name("norm", op, dtype)}({p}) '
                   f'{{ nr_{op}<{t}>({args}); }}')
    return "\n".join(out) + "\n"


register_family(KernelFamily("nn_norm", _render, lambda: [(d,) for d in NN_DTYPES], helpers=_HELPERS))
