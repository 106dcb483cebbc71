"""Fused optimizer updates (keys ``(dtype, layout)``, float32/float64).

One kernel per optimizer reads the parameter, its gradient and its state
once and writes them back, with the formulas and operation order of
``neurarust/_core/optim_kernels.pyx`` (arithmetic in the array's dtype,
hyper-parameters arriving as doubles and cast at use).  The flags are a
run-time argument: they are the same for every thread, so the branches cost
nothing next to the memory traffic, and 4 kernels per module replace 30
specialisations.  Absent buffers are never read or written.

Calling convention (``launch.strided_launch``): ``p, g, b1, b2, b3, <hyper
parameters>, flags, n`` then, for the strided layout, the layout of the
five operands.
"""
from __future__ import annotations

from ..codegen import CTYPE, KernelFamily, kernel_name, layout_locals, layout_params, register_family

NN_DTYPES = ("float32", "float64")
LAYOUTS = ("contig", "strided")
OPERANDS = ("p", "g", "a", "b", "c")

# Flag bits, as in optim_kernels.pyx.
F_L2, F_BUF, F_FIRST, F_CENTERED, F_NESTEROV = 1, 2, 4, 4, 8

_HELPERS = r"""
#define NR_F_L2 1u
#define NR_F_BUF 2u
#define NR_F_FIRST 4u
#define NR_F_CENTERED 4u
#define NR_F_NESTEROV 8u
__device__ __forceinline__ float nr_sqrt(float v) { return sqrtf(v); }
__device__ __forceinline__ double nr_sqrt(double v) { return sqrt(v); }

template <typename T>
__device__ __forceinline__ void nr_sgd_elem(unsigned F, T* p, const T* gp, T* buf, T*, T*, double sign,
                                            double lr, double momentum, double dampening, double wd) {
  T g = *gp * (T)sign;
  if (F & NR_F_L2) g = g + (T)wd * *p;
  if (F & NR_F_BUF) {
    const T m = (F & NR_F_FIRST) ? g : *buf * (T)momentum + (T)(1.0 - dampening) * g;
    *buf = m;
    g = (F & NR_F_NESTEROV) ? g + (T)momentum * m : m;
  }
  *p = *p + (T)(-lr) * g;
}

template <typename T>
__device__ __forceinline__ void nr_adam_elem(unsigned F, T* p, const T* gp, T* ea, T* eas, T* mx,
                                             double sign, double beta1, double beta2, double eps,
                                             double wd, double decay, double step_size, double bc2_sqrt) {
  T g = *gp * (T)sign;
  const T w = *p * (T)decay;  // AdamW's decay; exactly 1 for Adam
  if (F & NR_F_L2) g = g + (T)wd * w;
  const T m = *ea + (T)(1.0 - beta1) * (g - *ea);
  T v = *eas * (T)beta2 + (T)(1.0 - beta2) * (g * g);
  *ea = m;
  *eas = v;
  if (F & NR_F_BUF) { v = *mx > v ? *mx : v; *mx = v; }
  const T denom = nr_sqrt(v) / (T)bc2_sqrt + (T)eps;
  *p = w + (T)(-step_size) * (m / denom);
}

template <typename T>
__device__ __forceinline__ void nr_rmsprop_elem(unsigned F, T* p, const T* gp, T* sq, T* ga, T* buf,
                                                double sign, double lr, double alpha, double eps,
                                                double wd, double momentum) {
  T g = *gp * (T)sign;
  if (F & NR_F_L2) g = g + (T)wd * *p;
  const T s = *sq * (T)alpha + (T)(1.0 - alpha) * (g * g);
  *sq = s;
  T avg;
  if (F & NR_F_CENTERED) {
    const T a = *ga + (T)(1.0 - alpha) * (g - *ga);
    *ga = a;
    avg = nr_sqrt(s - a * a);
  } else {
    avg = nr_sqrt(s);
  }
  avg = avg + (T)eps;
  if (F & NR_F_BUF) {
    const T m = *buf * (T)momentum + g / avg;
    *buf = m;
    *p = *p + (T)(-lr) * m;
  } else {
    *p = *p + (T)(-lr) * (g / avg);
  }
}

template <typename T>
__device__ __forceinline__ void nr_adagrad_elem(unsigned F, T* p, const T* gp, T* sum, T*, T*,
                                                double sign, double clr, double wd, double eps) {
  T g = *gp * (T)sign;
  if (F & NR_F_L2) g = g + (T)wd * *p;
  const T s = *sum + g * g;
  *sum = s;
  *p = *p + (T)(-clr) * (g / (nr_sqrt(s) + (T)eps));
}
"""

# optimizer -> its hyper-parameters (doubles), in kernel argument order.
HYPER = {
    "sgd": ("sign", "lr", "momentum", "dampening", "wd"),
    "adam": ("sign", "beta1", "beta2", "eps", "wd", "decay", "step_size", "bc2_sqrt"),
    "rmsprop": ("sign", "lr", "alpha", "eps", "wd", "momentum"),
    "adagrad": ("sign", "clr", "wd", "eps"),
}


def extra_format(op: str) -> str:
    """Format characters of the arguments between the pointers and ``n``: doubles, then flags."""
    return "d" * len(HYPER[op]) + "i"


def _render(key: tuple) -> str:
    dtype, layout = key
    t = CTYPE[dtype]
    out = []
    for op, hyper in HYPER.items():
        name = kernel_name("optim", op, dtype, layout)
        params = (f"{t}* p, const {t}* g, {t}* a, {t}* b, {t}* c, "
                  + ", ".join(f"double {h}" for h in hyper) + ", unsigned flags, i64 n")
        call_hyper = ", ".join(hyper)
        loop = "for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)"
        if layout == "contig":
            out.append(f"""
extern "C" __global__ void {name}({params}) {{
  {loop}
    nr_{op}_elem<{t}>(flags, p + i, g + i, a + i, b + i, c + i, {call_hyper});
}}""")
        else:
            offs = ", ".join(f"{o} + nr_offset(i, ndim, shape, {o}_stride)" for o in OPERANDS)
            out.append(f"""
extern "C" __global__ void {name}({params}, {layout_params(OPERANDS)}) {{
  {layout_locals(OPERANDS)}
  {loop}
    nr_{op}_elem<{t}>(flags, {offs}, {call_hyper});
}}""")
    return "\n".join(out) + "\n"


register_family(KernelFamily("nn_optim", _render, lambda: [(d, lay) for d in NN_DTYPES for lay in LAYOUTS],
                             helpers=_HELPERS))
