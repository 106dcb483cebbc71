# cython: language_level=3
# distutils: extra_compile_args = -fno-math-errno
"""Fused optimizer updates: one pass per parameter, no temporaries.

Each kernel reads a parameter, its gradient and its state buffers once and
writes the parameter and the state back in the same pass, with the GIL
released.  float32 and float64 only, arithmetic in the array's own dtype
(like torch's per-op float32 math).  Operands may have any strides (the
gradient may be broadcast, with zero strides); when every operand is
C-contiguous the whole array is one flat run.  Hyper-parameters that depend
on the step (bias corrections, decayed learning rates) are computed by the
caller in double precision, the way torch computes them in Python.

``-fno-math-errno`` (above) lets gcc vectorize the square roots.

Example:
    >>> import numpy as np
    >>> from neurarust._core import optim_kernels as ok
    >>> p = np.ones(3, np.float32); g = np.full(3, 2.0, np.float32)
    >>> ok.sgd_step(p, g, None, 0.5, 0.0, 0.0, 0.0, False, False, False)
    >>> p.tolist()
    [0.0, 0.0, 0.0]
"""
cimport numpy as cnp
from numpy cimport ndarray, npy_intp

from neurarust._core.config cimport nr_num_threads
from neurarust._core.strided cimport (
    NR_MAX_DIMS, nr_inner_loop, nr_iter, nr_iter_init, nr_iter_run, nr_iter_set_operand,
    nr_operands_conflict,
)

import numpy as np

cnp.import_array()

cdef extern from *:
    """
    #include <math.h>
    #include "nr_strided.h"

    #if defined(__GNUC__) && !defined(__clang__)
    #pragma GCC push_options
    #pragma GCC optimize("no-trapping-math")
    #endif

    /* Each update is specialised at compile time on its flags (F below), so
     * every loop the compiler sees is branch-free and vectorizes; gcc's
     * unswitching on run-time flags left most combinations scalar. */
    #define NR_F_L2 1u        /* weight_decay != 0, added to the gradient */
    #define NR_F_BUF 2u       /* SGD/RMSprop: momentum buffer; Adam: amsgrad max */
    #define NR_F_FIRST 4u     /* SGD: the buffer starts as this gradient */
    #define NR_F_CENTERED 4u  /* RMSprop */
    #define NR_F_NESTEROV 8u  /* SGD */

    /* `present`: bit k is set when operand k is a real array (absent
     * buffers are a 0-stride dummy the updates never touch). `sign` is -1
     * under maximize: multiplying by it is exact and needs no branch. */
    typedef struct { unsigned present; double sign, lr, momentum, dampening, wd; } nr_sgd_ctx;
    typedef struct { unsigned present; double sign, beta1, beta2, eps, wd, decay, step_size,
                     bc2_sqrt; } nr_adam_ctx;
    typedef struct { unsigned present; double sign, lr, alpha, eps, wd, momentum; } nr_rmsprop_ctx;
    typedef struct { unsigned present; double sign, clr, wd, eps; } nr_adagrad_ctx;

    /* Per-element updates in torch's order of operations. p = parameter,
     * gp = gradient, then the state buffers. */
    #define NR_OPT_ELEMS(T, S, SQRT)                                                      \\
    static inline void nr_sgd_elem_##S(const nr_sgd_ctx *c, unsigned F, T *p,          \\
                                       const T *gp, T *b, T *u1, T *u2)                \\
    {                                                                                  \\
        (void)u1; (void)u2;                                                            \\
        T g = *gp * (T)c->sign;                                                        \\
        if (F & NR_F_L2) g = g + (T)c->wd * *p;                                        \\
        if (F & NR_F_BUF) {                                                            \\
            T m = (F & NR_F_FIRST) ? g                                                 \\
                                   : *b * (T)c->momentum + (T)(1.0 - c->dampening) * g; \\
            *b = m;                                                                    \\
            g = (F & NR_F_NESTEROV) ? g + (T)c->momentum * m : m;                      \\
        }                                                                              \\
        *p = *p + (T)(-c->lr) * g;                                                     \\
    }                                                                                  \\
    static inline void nr_adam_elem_##S(const nr_adam_ctx *c, unsigned F, T *p,        \\
                                        const T *gp, T *ea, T *eas, T *mx)             \\
    {                                                                                  \\
        T g = *gp * (T)c->sign;                                                        \\
        T w = *p * (T)c->decay;  /* AdamW's decay; exactly 1 for Adam */              \\
        if (F & NR_F_L2) g = g + (T)c->wd * w;                                         \\
        T m = *ea + (T)(1.0 - c->beta1) * (g - *ea);                                   \\
        T v = *eas * (T)c->beta2 + (T)(1.0 - c->beta2) * (g * g);                      \\
        *ea = m;                                                                       \\
        *eas = v;                                                                      \\
        if (F & NR_F_BUF) { v = *mx > v ? *mx : v; *mx = v; }                          \\
        T denom = SQRT(v) / (T)c->bc2_sqrt + (T)c->eps;                                \\
        *p = w + (T)(-c->step_size) * (m / denom);                                     \\
    }                                                                                  \\
    static inline void nr_rmsprop_elem_##S(const nr_rmsprop_ctx *c, unsigned F, T *p,  \\
                                           const T *gp, T *sq, T *ga, T *b)            \\
    {                                                                                  \\
        T g = *gp * (T)c->sign;                                                        \\
        if (F & NR_F_L2) g = g + (T)c->wd * *p;                                        \\
        T s = *sq * (T)c->alpha + (T)(1.0 - c->alpha) * (g * g);                       \\
        *sq = s;                                                                       \\
        T avg;                                                                         \\
        if (F & NR_F_CENTERED) {                                                       \\
            T a = *ga + (T)(1.0 - c->alpha) * (g - *ga);                               \\
            *ga = a;                                                                   \\
            avg = SQRT(s - a * a);                                                     \\
        } else {                                                                       \\
            avg = SQRT(s);                                                             \\
        }                                                                              \\
        avg = avg + (T)c->eps;                                                         \\
        if (F & NR_F_BUF) {                                                            \\
            T m = *b * (T)c->momentum + g / avg;                                       \\
            *b = m;                                                                    \\
            *p = *p + (T)(-c->lr) * m;                                                 \\
        } else {                                                                       \\
            *p = *p + (T)(-c->lr) * (g / avg);                                         \\
        }                                                                              \\
    }                                                                                  \\
    static inline void nr_adagrad_elem_##S(const nr_adagrad_ctx *c, unsigned F, T *p,  \\
                                           const T *gp, T *sum, T *u1, T *u2)          \\
    {                                                                                  \\
        (void)u1; (void)u2;                                                            \\
        T g = *gp * (T)c->sign;                                                        \\
        if (F & NR_F_L2) g = g + (T)c->wd * *p;                                        \\
        T s = *sum + g * g;                                                            \\
        *sum = s;                                                                      \\
        *p = *p + (T)(-c->clr) * (g / (SQRT(s) + (T)c->eps));                          \\
    }

    NR_OPT_ELEMS(float, f32, sqrtf)
    NR_OPT_ELEMS(double, f64, sqrt)

    /* The inner loop over a run of n elements of the five operands, for one
     * flag combination F. */
    #define NR_OPT_LOOP(NAME, CTX, T, S, F)                                             \\
    NR_SIMD_CLONES static void nr_##NAME##_loop_##S##_##F(char **d, const npy_intp *st, \\
                                                          npy_intp n, const void *vctx) \\
    {                                                                                  \\
        const CTX cc = *(const CTX *)vctx, *c = &cc;  /* stores cannot alias it */     \\
        int contig = 1;                                                                \\
        for (int k = 0; k < 5; k++)                                                    \\
            if (((c->present >> k) & 1u) && st[k] != (npy_intp)sizeof(T)) contig = 0;  \\
        if (contig) {                                                                  \\
            T *a0 = (T *)d[0], *a1 = (T *)d[1], *a2 = (T *)d[2];                       \\
            T *a3 = (T *)d[3], *a4 = (T *)d[4];                                        \\
            NR_IVDEP for (npy_intp i = 0; i < n; i++)                                  \\
                nr_##NAME##_elem_##S(c, F, a0 + i, a1 + i, a2 + i, a3 + i, a4 + i);    \\
            return;                                                                    \\
        }                                                                              \\
        for (npy_intp i = 0; i < n; i++)                                               \\
            nr_##NAME##_elem_##S(c, F, (T *)(d[0] + i * st[0]),                        \\
                                 (T *)(d[1] + i * st[1]), (T *)(d[2] + i * st[2]),     \\
                                 (T *)(d[3] + i * st[3]), (T *)(d[4] + i * st[4]));    \\
    }
    #define NR_OPT_LOOPS2(N, C, T, S) NR_OPT_LOOP(N, C, T, S, 0) NR_OPT_LOOP(N, C, T, S, 1)
    #define NR_OPT_LOOPS4(N, C, T, S) NR_OPT_LOOPS2(N, C, T, S)                         \\
        NR_OPT_LOOP(N, C, T, S, 2) NR_OPT_LOOP(N, C, T, S, 3)
    #define NR_OPT_LOOPS8(N, C, T, S) NR_OPT_LOOPS4(N, C, T, S)                         \\
        NR_OPT_LOOP(N, C, T, S, 4) NR_OPT_LOOP(N, C, T, S, 5)                           \\
        NR_OPT_LOOP(N, C, T, S, 6) NR_OPT_LOOP(N, C, T, S, 7)
    #define NR_OPT_LOOPS16(N, C, T, S) NR_OPT_LOOPS8(N, C, T, S)                        \\
        NR_OPT_LOOP(N, C, T, S, 8) NR_OPT_LOOP(N, C, T, S, 9)                           \\
        NR_OPT_LOOP(N, C, T, S, 10) NR_OPT_LOOP(N, C, T, S, 11)                         \\
        NR_OPT_LOOP(N, C, T, S, 12) NR_OPT_LOOP(N, C, T, S, 13)                         \\
        NR_OPT_LOOP(N, C, T, S, 14) NR_OPT_LOOP(N, C, T, S, 15)
    #define NR_T2(N, S) nr_##N##_loop_##S##_0, nr_##N##_loop_##S##_1
    #define NR_T4(N, S) NR_T2(N, S), nr_##N##_loop_##S##_2, nr_##N##_loop_##S##_3
    #define NR_T8(N, S) NR_T4(N, S), nr_##N##_loop_##S##_4, nr_##N##_loop_##S##_5,     \\
        nr_##N##_loop_##S##_6, nr_##N##_loop_##S##_7
    #define NR_T16(N, S) NR_T8(N, S), nr_##N##_loop_##S##_8, nr_##N##_loop_##S##_9,    \\
        nr_##N##_loop_##S##_10, nr_##N##_loop_##S##_11, nr_##N##_loop_##S##_12,        \\
        nr_##N##_loop_##S##_13, nr_##N##_loop_##S##_14, nr_##N##_loop_##S##_15

    NR_OPT_LOOPS16(sgd, nr_sgd_ctx, float, f32)
    NR_OPT_LOOPS16(sgd, nr_sgd_ctx, double, f64)
    NR_OPT_LOOPS4(adam, nr_adam_ctx, float, f32)
    NR_OPT_LOOPS4(adam, nr_adam_ctx, double, f64)
    NR_OPT_LOOPS8(rmsprop, nr_rmsprop_ctx, float, f32)
    NR_OPT_LOOPS8(rmsprop, nr_rmsprop_ctx, double, f64)
    NR_OPT_LOOPS2(adagrad, nr_adagrad_ctx, float, f32)
    NR_OPT_LOOPS2(adagrad, nr_adagrad_ctx, double, f64)

    /* The loop for (kernel, flags, dtype); flags must be < the kernel's count. */
    static nr_inner_loop nr_optim_loop_for(int kernel, unsigned flags, int f64)
    {
        static const nr_inner_loop sgd[2][16] = {{NR_T16(sgd, f32)}, {NR_T16(sgd, f64)}};
        static const nr_inner_loop adam[2][4] = {{NR_T4(adam, f32)}, {NR_T4(adam, f64)}};
        static const nr_inner_loop rms[2][8] = {{NR_T8(rmsprop, f32)}, {NR_T8(rmsprop, f64)}};
        static const nr_inner_loop ada[2][2] = {{NR_T2(adagrad, f32)}, {NR_T2(adagrad, f64)}};
        f64 = f64 ? 1 : 0;
        switch (kernel) {
        case 0: return sgd[f64][flags & 15u];
        case 1: return adam[f64][flags & 3u];
        case 2: return rms[f64][flags & 7u];
        default: return ada[f64][flags & 1u];
        }
    }

    #if defined(__GNUC__) && !defined(__clang__)
    #pragma GCC pop_options
    #endif
    """
    enum:
        NR_F_L2, NR_F_BUF, NR_F_FIRST, NR_F_CENTERED, NR_F_NESTEROV
    ctypedef struct nr_sgd_ctx:
        unsigned present
        double sign, lr, momentum, dampening, wd
    ctypedef struct nr_adam_ctx:
        unsigned present
        double sign, beta1, beta2, eps, wd, decay, step_size, bc2_sqrt
    ctypedef struct nr_rmsprop_ctx:
        unsigned present
        double sign, lr, alpha, eps, wd, momentum
    ctypedef struct nr_adagrad_ctx:
        unsigned present
        double sign, clr, wd, eps
    nr_inner_loop nr_optim_loop_for(int kernel, unsigned flags, int f64) noexcept nogil

# Least elements worth a thread: each element moves 16-36 bytes, so below
# this the parallel region costs more than it saves.
cdef npy_intp GRAIN = 32768
cdef npy_intp NOGIL_MIN = 4096

# Stand-ins for absent optional buffers (0-stride, never read or written).
cdef ndarray _DUMMY32 = np.zeros(1, np.float32)
cdef ndarray _DUMMY64 = np.zeros(1, np.float64)


cdef bint _is_f64(str fname, ndarray param) except -1:
    """Validates the parameter array; True for float64, False for float32."""
    cdef int t = cnp.PyArray_TYPE(param)
    if not cnp.PyArray_ISNOTSWAPPED(param) or (t != cnp.NPY_FLOAT and t != cnp.NPY_DOUBLE):
        raise TypeError(f"{fname}: param must be a native-order float32 or float64 array, "
                        f"got {param.dtype}")
    if cnp.PyArray_NDIM(param) > NR_MAX_DIMS:
        raise ValueError(f"{fname}: at most {NR_MAX_DIMS} dims are supported, "
                         f"got {cnp.PyArray_NDIM(param)}")
    return t == cnp.NPY_DOUBLE


cdef ndarray _operand(str fname, str role, object arr, ndarray param, bint write):
    """Checks one operand against the parameter (dtype, shape, writeable, aligned)."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{fname}: {role} must be a numpy array, got {type(arr).__name__}")
    cdef ndarray a = <ndarray>arr
    if a.dtype != param.dtype or not cnp.PyArray_ISNOTSWAPPED(a):
        raise TypeError(f"{fname}: {role} must have the param's dtype {param.dtype}, got {a.dtype}")
    if (<object>a).shape != (<object>param).shape:
        raise ValueError(f"{fname}: {role} of shape {(<object>a).shape} does not match the "
                         f"param's shape {(<object>param).shape}")
    if write and not cnp.PyArray_ISWRITEABLE(a):
        raise ValueError(f"{fname}: {role} is read-only")
    if not cnp.PyArray_ISALIGNED(a):
        raise ValueError(f"{fname}: {role} is not aligned")
    return a


cdef bint _overlap(ndarray a, ndarray b) noexcept:
    """True when a and b share any memory other than the very same layout
    being the same operand (two operands may never share memory here)."""
    if cnp.PyArray_DATA(a) == cnp.PyArray_DATA(b) and cnp.PyArray_SIZE(a) > 0:
        return True
    return nr_operands_conflict(
        <char *>cnp.PyArray_DATA(a), cnp.PyArray_NDIM(a), cnp.PyArray_DIMS(a),
        cnp.PyArray_STRIDES(a), <int>cnp.PyArray_ITEMSIZE(a),
        <char *>cnp.PyArray_DATA(b), cnp.PyArray_NDIM(b), cnp.PyArray_DIMS(b),
        cnp.PyArray_STRIDES(b), <int>cnp.PyArray_ITEMSIZE(b))


cdef unsigned _prepare(str fname, list ops, tuple roles, bint f64) except 0:
    """Validates ops (param, grad, up to 3 buffers or None) in place, replacing
    None by the dummy; returns the `present` bit mask."""
    cdef ndarray param = ops[0]
    cdef unsigned present = 0
    cdef int k, j
    for k in range(5):
        if ops[k] is None:
            ops[k] = _DUMMY64 if f64 else _DUMMY32
        else:
            ops[k] = _operand(fname, roles[k], ops[k], param, k != 1)
            present |= 1u << k
    # A written operand sharing memory with any other operand would make the
    # result depend on the order of the pass.
    for k in range(5):
        if not (present >> k) & 1u:
            continue
        for j in range(k + 1, 5):
            if (present >> j) & 1u and _overlap(<ndarray>ops[k], <ndarray>ops[j]):
                raise ValueError(f"{fname}: {roles[k]} and {roles[j]} share memory")
    return present


cdef int _run(list ops, unsigned present, nr_inner_loop fn, const void *ctx) except -1:
    cdef nr_iter it
    cdef ndarray p = ops[0]
    cdef ndarray a
    cdef npy_intp size = cnp.PyArray_SIZE(p)
    cdef npy_intp stride1 = cnp.PyArray_ITEMSIZE(p)
    cdef npy_intp zero = 0
    cdef bint contig = True
    cdef int k, threads = nr_num_threads()
    if size == 0:
        return 0
    for k in range(5):
        if (present >> k) & 1u and not cnp.PyArray_IS_C_CONTIGUOUS(<ndarray>ops[k]):
            contig = False
    # No nr_iter_simplify: its tiling buffers inputs, and every state operand
    # here is written.  Contiguous operands become one flat run; otherwise the
    # param's dims are walked as they are.
    if contig:
        nr_iter_init(&it, 5, 1, &size)
        for k in range(5):
            a = ops[k]
            nr_iter_set_operand(&it, k, <char *>cnp.PyArray_DATA(a), <int>stride1, 1, &size,
                                &stride1 if (present >> k) & 1u else &zero)
    else:
        nr_iter_init(&it, 5, cnp.PyArray_NDIM(p), cnp.PyArray_DIMS(p))
        for k in range(5):
            a = ops[k]
            if (present >> k) & 1u:
                nr_iter_set_operand(&it, k, <char *>cnp.PyArray_DATA(a), <int>stride1,
                                    cnp.PyArray_NDIM(a), cnp.PyArray_DIMS(a), cnp.PyArray_STRIDES(a))
            else:
                nr_iter_set_operand(&it, k, <char *>cnp.PyArray_DATA(a), <int>stride1, 0, NULL, NULL)
    if size < NOGIL_MIN:
        nr_iter_run(&it, fn, ctx, 1, GRAIN)
    else:
        with nogil:
            nr_iter_run(&it, fn, ctx, threads, GRAIN)
    return 0


def sgd_step(ndarray param not None, grad, momentum_buffer, double lr, double momentum,
             double dampening, double weight_decay, bint nesterov, bint maximize, bint first):
    """SGD update of ``param`` in place (torch's rule; see ``neurarust.optim.SGD``).

    ``momentum_buffer`` is None for plain SGD; ``first`` means the buffer is
    being initialised with this step's gradient.
    """
    fname = "sgd_step"
    cdef bint f64 = _is_f64(fname, param)
    if (nesterov or first) and momentum_buffer is None:
        raise ValueError(f"{fname}: nesterov and first need a momentum_buffer")
    cdef list ops = [param, grad, momentum_buffer, None, None]
    cdef nr_sgd_ctx c
    cdef unsigned flags = ((NR_F_L2 if weight_decay != 0 else 0) |
                           (NR_F_BUF if momentum_buffer is not None else 0) |
                           (NR_F_FIRST if first else 0) | (NR_F_NESTEROV if nesterov else 0))
    c.present = _prepare(fname, ops, ("param", "grad", "momentum_buffer", "", ""), f64)
    c.sign = -1.0 if maximize else 1.0
    c.lr = lr
    c.momentum = momentum
    c.dampening = dampening
    c.wd = weight_decay
    _run(ops, c.present, nr_optim_loop_for(0, flags, f64), &c)


def adam_step(ndarray param not None, grad, exp_avg, exp_avg_sq, max_exp_avg_sq,
              double lr, double beta1, double beta2, double eps, double weight_decay,
              bint decoupled, double step_size, double bias_correction2_sqrt, bint maximize):
    """Adam/AdamW update in place; ``max_exp_avg_sq`` not None means amsgrad.

    The caller passes ``step_size = lr / (1 - beta1**step)`` and
    ``bias_correction2_sqrt = sqrt(1 - beta2**step)``; ``decoupled`` selects
    AdamW's weight decay (``param *= 1 - lr * weight_decay``).
    """
    fname = "adam_step"
    cdef bint f64 = _is_f64(fname, param)
    if exp_avg is None or exp_avg_sq is None:
        raise ValueError(f"{fname}: exp_avg and exp_avg_sq are required")
    if not bias_correction2_sqrt > 0:
        raise ValueError(f"{fname}: bias_correction2_sqrt must be > 0, got {bias_correction2_sqrt}")
    cdef list ops = [param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq]
    cdef nr_adam_ctx c
    cdef unsigned flags = ((NR_F_L2 if weight_decay != 0 and not decoupled else 0) |
                           (NR_F_BUF if max_exp_avg_sq is not None else 0))
    c.present = _prepare(fname, ops, ("param", "grad", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"), f64)
    c.sign = -1.0 if maximize else 1.0
    c.beta1 = beta1
    c.beta2 = beta2
    c.eps = eps
    c.wd = weight_decay
    c.decay = 1.0 - lr * weight_decay if decoupled else 1.0
    c.step_size = step_size
    c.bc2_sqrt = bias_correction2_sqrt
    _run(ops, c.present, nr_optim_loop_for(1, flags, f64), &c)


def rmsprop_step(ndarray param not None, grad, square_avg, grad_avg, momentum_buffer,
                 double lr, double alpha, double eps, double weight_decay, double momentum,
                 bint maximize):
    """RMSprop update in place; ``grad_avg`` not None means centered,
    ``momentum_buffer`` not None means momentum > 0."""
    fname = "rmsprop_step"
    cdef bint f64 = _is_f64(fname, param)
    if square_avg is None:
        raise ValueError(f"{fname}: square_avg is required")
    cdef list ops = [param, grad, square_avg, grad_avg, momentum_buffer]
    cdef nr_rmsprop_ctx c
    cdef unsigned flags = ((NR_F_L2 if weight_decay != 0 else 0) |
                           (NR_F_BUF if momentum_buffer is not None else 0) |
                           (NR_F_CENTERED if grad_avg is not None else 0))
    c.present = _prepare(fname, ops, ("param", "grad", "square_avg", "grad_avg", "momentum_buffer"), f64)
    c.sign = -1.0 if maximize else 1.0
    c.lr = lr
    c.alpha = alpha
    c.eps = eps
    c.wd = weight_decay
    c.momentum = momentum
    _run(ops, c.present, nr_optim_loop_for(2, flags, f64), &c)


def adagrad_step(ndarray param not None, grad, state_sum, double clr, double weight_decay,
                 double eps, bint maximize):
    """Adagrad update in place; ``clr = lr / (1 + (step - 1) * lr_decay)``."""
    fname = "adagrad_step"
    cdef bint f64 = _is_f64(fname, param)
    if state_sum is None:
        raise ValueError(f"{fname}: state_sum is required")
    cdef list ops = [param, grad, state_sum, None, None]
    cdef nr_adagrad_ctx c
    cdef unsigned flags = NR_F_L2 if weight_decay != 0 else 0
    c.present = _prepare(fname, ops, ("param", "grad", "sum", "", ""), f64)
    c.sign = -1.0 if maximize else 1.0
    c.clr = clr
    c.wd = weight_decay
    c.eps = eps
    _run(ops, c.present, nr_optim_loop_for(3, flags, f64), &c)
