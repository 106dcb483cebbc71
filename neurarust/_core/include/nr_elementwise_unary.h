/* Unary elementwise inner loops: out = op(a; p0, p1), operands (out, a).
 *
 * Transcendentals use the branch-free versions in nr_elementwise_math.h so the
 * contiguous loops vectorize; sin/cos/tan/erf still call libm per element.
 */
#ifndef NR_ELEMENTWISE_UNARY_H
#define NR_ELEMENTWISE_UNARY_H

#include "nr_strided.h"
#include "nr_elementwise_dtypes.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("no-trapping-math")
#endif

enum nr_unary_op {
    NR_UN_NEG, NR_UN_ABS, NR_UN_SIGN, NR_UN_SQUARE, NR_UN_RECIPROCAL,
    NR_UN_EXP, NR_UN_EXPM1, NR_UN_LOG, NR_UN_LOG1P, NR_UN_LOG2, NR_UN_LOG10,
    NR_UN_SQRT, NR_UN_RSQRT, NR_UN_SIN, NR_UN_COS, NR_UN_TAN, NR_UN_TANH,
    NR_UN_SIGMOID, NR_UN_RELU, NR_UN_GELU, NR_UN_GELU_TANH, NR_UN_SILU,
    NR_UN_SOFTPLUS, NR_UN_LEAKY_RELU, NR_UN_ELU, NR_UN_ERF,
    NR_UN_FLOOR, NR_UN_CEIL, NR_UN_ROUND, NR_UN_TRUNC,
    NR_UN_ISNAN, NR_UN_ISINF, NR_UN_ISFINITE, NR_UN_LOGICAL_NOT, NR_UN_BITWISE_NOT,
    NR_UNARY_NOPS
};

typedef struct { double p0, p1; } nr_unary_params;

static inline int nr_unary_returns_bool(int op)
{
    return op >= NR_UN_ISNAN && op <= NR_UN_LOGICAL_NOT;
}

/* p0/p1 are converted once per run, to the loop's compute type T. */
#define NR_UNARY_LOOP(NAME, TI, TO, TP, EXPR)                                            \
    NR_SIMD_CLONES static void NAME(char **data, const npy_intp *st, npy_intp n,         \
                                    const void *ctx)                                     \
    {                                                                                    \
        const nr_unary_params *prm = (const nr_unary_params *)ctx;                       \
        const TP p0 = (TP)prm->p0, p1 = (TP)prm->p1;                                     \
        (void)p0; (void)p1;                                                              \
        if (st[0] == (npy_intp)sizeof(TO) && st[1] == (npy_intp)sizeof(TI)) {            \
            TO *o = (TO *)data[0];                                                       \
            const TI *A = (const TI *)data[1];                                           \
            NR_IVDEP for (npy_intp i = 0; i < n; i++) {                                  \
                TI x = A[i];                                                             \
                (void)x;                                                                 \
                o[i] = (TO)(EXPR);                                                       \
            }                                                                            \
            return;                                                                      \
        }                                                                                \
        for (npy_intp i = 0; i < n; i++) {                                               \
            TI x = *(const TI *)(data[1] + i * st[1]);                                   \
            (void)x;                                                                     \
            *(TO *)(data[0] + i * st[0]) = (TO)(EXPR);                                   \
        }                                                                                \
    }

/* sqrt: with errno semantics on (the default), gcc will not vectorize libm
 * sqrt even per-function, so the contiguous path uses the SSE square root
 * (baseline on x86-64, correctly rounded like sqrtf). */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
typedef float nr_v4sf __attribute__((vector_size(16)));
typedef double nr_v2df __attribute__((vector_size(16)));
#define NR_SQRT_LOOP(NAME, T, VT, LANES, VSQRT, SSQRT, RECIP)                            \
    static void NAME(char **data, const npy_intp *st, npy_intp n, const void *ctx)       \
    {                                                                                    \
        npy_intp i = 0;                                                                  \
        (void)ctx;                                                                       \
        if (st[0] == (npy_intp)sizeof(T) && st[1] == (npy_intp)sizeof(T)) {             \
            const VT one = (VT){0} + (T)1;                                               \
            for (; i + LANES <= n; i += LANES) {                                         \
                VT v;                                                                    \
                memcpy(&v, data[1] + i * sizeof(T), sizeof(VT));                         \
                v = VSQRT(v);                                                            \
                if (RECIP) v = one / v;                                                  \
                memcpy(data[0] + i * sizeof(T), &v, sizeof(VT));                         \
            }                                                                            \
        }                                                                                \
        for (; i < n; i++) {                                                             \
            T r = SSQRT(*(const T *)(data[1] + i * st[1]));                              \
            *(T *)(data[0] + i * st[0]) = RECIP ? (T)1 / r : r;                          \
        }                                                                                \
    }
NR_SQRT_LOOP(nr_un_sqrt_float32, float, nr_v4sf, 4, __builtin_ia32_sqrtps, sqrtf, 0)
NR_SQRT_LOOP(nr_un_rsqrt_float32, float, nr_v4sf, 4, __builtin_ia32_sqrtps, sqrtf, 1)
NR_SQRT_LOOP(nr_un_sqrt_float64, double, nr_v2df, 2, __builtin_ia32_sqrtpd, sqrt, 0)
NR_SQRT_LOOP(nr_un_rsqrt_float64, double, nr_v2df, 2, __builtin_ia32_sqrtpd, sqrt, 1)
#else
NR_UNARY_LOOP(nr_un_sqrt_float32, float, float, float, sqrtf(x))
NR_UNARY_LOOP(nr_un_rsqrt_float32, float, float, float, 1.0f / sqrtf(x))
NR_UNARY_LOOP(nr_un_sqrt_float64, double, double, double, sqrt(x))
NR_UNARY_LOOP(nr_un_rsqrt_float64, double, double, double, 1.0 / sqrt(x))
#endif

/* float32 trig: vectorized double-precision kernel into a block buffer,
 * then libm for the rare |x| > NR_TRIG_LIMIT / inf / NaN lanes (a NaN takes
 * that path too, harmlessly).  The buffer makes out == a safe. */
#define NR_TRIG_LOOP(NAME, KERNEL, LIBM)                                                 \
    NR_SIMD_CLONES static void NAME(char **data, const npy_intp *st, npy_intp n,         \
                                    const void *ctx)                                     \
    {                                                                                    \
        float block[256];                                                                \
        (void)ctx;                                                                       \
        for (npy_intp i0 = 0; i0 < n; i0 += 256) {                                       \
            const int m = (int)(n - i0 < 256 ? n - i0 : 256);                            \
            const char *src = data[1] + i0 * st[1];                                      \
            int outside = 0;                                                             \
            if (st[1] == (npy_intp)sizeof(float)) {                                      \
                const float *A = (const float *)src;                                     \
                for (int i = 0; i < m; i++) block[i] = KERNEL(A[i]);                     \
                for (int i = 0; i < m; i++) outside |= !(fabsf(A[i]) <= NR_TRIG_LIMIT);  \
            } else {                                                                     \
                for (int i = 0; i < m; i++) {                                            \
                    float x = *(const float *)(src + i * st[1]);                         \
                    block[i] = KERNEL(x);                                                \
                    outside |= !(fabsf(x) <= NR_TRIG_LIMIT);                             \
                }                                                                        \
            }                                                                            \
            if (outside) {                                                               \
                for (int i = 0; i < m; i++) {                                            \
                    float x = *(const float *)(src + i * st[1]);                         \
                    if (!(fabsf(x) <= NR_TRIG_LIMIT)) block[i] = LIBM(x);                \
                }                                                                        \
            }                                                                            \
            char *dst = data[0] + i0 * st[0];                                            \
            if (st[0] == (npy_intp)sizeof(float)) memcpy(dst, block, (size_t)m * sizeof(float)); \
            else for (int i = 0; i < m; i++) *(float *)(dst + i * st[0]) = block[i];    \
        }                                                                                \
    }
NR_TRIG_LOOP(nr_un_sin_float32, nr_sinf, sinf)
NR_TRIG_LOOP(nr_un_cos_float32, nr_cosf, cosf)
NR_TRIG_LOOP(nr_un_tan_float32, nr_tanf, tanf)

#define NR_SQRT1_2 0.70710678118654752440
#define NR_SQRT_2_OVER_PI 0.79788456080286535588

#define NR_FLOAT_UNARY_LOOPS(SFX, T, EXP, EXPM1, LOG, LOG1P, LOG2, LOG10, TANH, SIGMOID,  \
                             ERF, FABS, FLOOR, CEIL, RINT, TRUNC)          \
    NR_UNARY_LOOP(nr_un_neg_##SFX, T, T, T, -x)                                          \
    NR_UNARY_LOOP(nr_un_abs_##SFX, T, T, T, FABS(x))                                     \
    NR_UNARY_LOOP(nr_un_sign_##SFX, T, T, T, (T)((0 < x) - (x < 0)))                     \
    NR_UNARY_LOOP(nr_un_square_##SFX, T, T, T, x * x)                                    \
    NR_UNARY_LOOP(nr_un_reciprocal_##SFX, T, T, T, (T)1 / x)                             \
    NR_UNARY_LOOP(nr_un_exp_##SFX, T, T, T, EXP(x))                                      \
    NR_UNARY_LOOP(nr_un_expm1_##SFX, T, T, T, EXPM1(x))                                  \
    NR_UNARY_LOOP(nr_un_log_##SFX, T, T, T, LOG(x))                                      \
    NR_UNARY_LOOP(nr_un_log1p_##SFX, T, T, T, LOG1P(x))                                  \
    NR_UNARY_LOOP(nr_un_log2_##SFX, T, T, T, LOG2(x))                                    \
    NR_UNARY_LOOP(nr_un_log10_##SFX, T, T, T, LOG10(x))                                  \
    NR_UNARY_LOOP(nr_un_tanh_##SFX, T, T, T, TANH(x))                                    \
    NR_UNARY_LOOP(nr_un_sigmoid_##SFX, T, T, T, SIGMOID(x))                              \
    /* relu keeps NaN: NaN <= 0 is false. */                                             \
    NR_UNARY_LOOP(nr_un_relu_##SFX, T, T, T, x <= 0 ? (T)0 : x)                          \
    NR_UNARY_LOOP(nr_un_gelu_##SFX, T, T, T, (T)0.5 * x * ((T)1 + ERF(x * (T)NR_SQRT1_2))) \
    NR_UNARY_LOOP(nr_un_gelu_tanh_##SFX, T, T, T,                                        \
                  (T)0.5 * x * ((T)1 + TANH((T)NR_SQRT_2_OVER_PI * (x + (T)0.044715 * x * x * x)))) \
    NR_UNARY_LOOP(nr_un_silu_##SFX, T, T, T, x * SIGMOID(x))                       \
    /* torch: linear once beta * x exceeds the threshold. */                             \
    NR_UNARY_LOOP(nr_un_softplus_##SFX, T, T, T,                                         \
                  x * p0 > p1 ? x : LOG1P(EXP(x * p0)) / p0)                             \
    NR_UNARY_LOOP(nr_un_leaky_relu_##SFX, T, T, T, x > 0 ? x : x * p0)                   \
    NR_UNARY_LOOP(nr_un_elu_##SFX, T, T, T, x > 0 ? x : p0 * EXPM1(x))                   \
    NR_UNARY_LOOP(nr_un_erf_##SFX, T, T, T, ERF(x))                                      \
    NR_UNARY_LOOP(nr_un_floor_##SFX, T, T, T, FLOOR(x))                                  \
    NR_UNARY_LOOP(nr_un_ceil_##SFX, T, T, T, CEIL(x))                                    \
    /* rint rounds half to even in the default rounding mode, like torch.round. */       \
    NR_UNARY_LOOP(nr_un_round_##SFX, T, T, T, RINT(x))                                   \
    NR_UNARY_LOOP(nr_un_trunc_##SFX, T, T, T, TRUNC(x))                                  \
    NR_UNARY_LOOP(nr_un_isnan_##SFX, T, nr_bool_t, T, x != x)                            \
    NR_UNARY_LOOP(nr_un_isinf_##SFX, T, nr_bool_t, T, FABS(x) == (T)INFINITY)            \
    NR_UNARY_LOOP(nr_un_isfinite_##SFX, T, nr_bool_t, T, FABS(x) < (T)INFINITY)          \
    NR_UNARY_LOOP(nr_un_logical_not_##SFX, T, nr_bool_t, T, x == 0)

NR_FLOAT_UNARY_LOOPS(float32, float, nr_expf, nr_expm1f, nr_logf, nr_log1pf, nr_log2f,
                     nr_log10f, nr_tanhf, nr_sigmoidf, nr_erff, fabsf,
                     floorf, ceilf, rintf, truncf)
/* float64 trig stays on libm (a vector version would need more than double). */
NR_UNARY_LOOP(nr_un_sin_float64, double, double, double, sin(x))
NR_UNARY_LOOP(nr_un_cos_float64, double, double, double, cos(x))
NR_UNARY_LOOP(nr_un_tan_float64, double, double, double, tan(x))
NR_FLOAT_UNARY_LOOPS(float64, double, nr_exp, nr_expm1, nr_log, nr_log1p, nr_log2,
                     nr_log10, nr_tanh, nr_sigmoid, erf, fabs,
                     floor, ceil, rint, trunc)

/* Integer rounding ops are the identity (torch keeps the dtype). */
#define NR_INT_UNARY_COMMON(SFX, T)                                                      \
    NR_UNARY_LOOP(nr_un_floor_##SFX, T, T, double, x)                                    \
    NR_UNARY_LOOP(nr_un_ceil_##SFX, T, T, double, x)                                     \
    NR_UNARY_LOOP(nr_un_round_##SFX, T, T, double, x)                                    \
    NR_UNARY_LOOP(nr_un_trunc_##SFX, T, T, double, x)                                    \
    NR_UNARY_LOOP(nr_un_isnan_##SFX, T, nr_bool_t, double, 0)                            \
    NR_UNARY_LOOP(nr_un_isinf_##SFX, T, nr_bool_t, double, 0)                            \
    NR_UNARY_LOOP(nr_un_isfinite_##SFX, T, nr_bool_t, double, 1)                         \
    NR_UNARY_LOOP(nr_un_logical_not_##SFX, T, nr_bool_t, double, x == 0)

#define NR_SIGNED_UNARY_LOOPS(SFX, T, U)                                                 \
    NR_INT_UNARY_COMMON(SFX, T)                                                          \
    NR_UNARY_LOOP(nr_un_neg_##SFX, T, T, double, (U)0 - (U)x)                            \
    NR_UNARY_LOOP(nr_un_abs_##SFX, T, T, double, x < 0 ? (T)((U)0 - (U)x) : x)           \
    NR_UNARY_LOOP(nr_un_sign_##SFX, T, T, double, (x > 0) - (x < 0))                     \
    NR_UNARY_LOOP(nr_un_square_##SFX, T, T, double, (U)x * (U)x)                         \
    NR_UNARY_LOOP(nr_un_relu_##SFX, T, T, double, x < 0 ? 0 : x)                         \
    NR_UNARY_LOOP(nr_un_bitwise_not_##SFX, T, T, double, ~x)

NR_SIGNED_UNARY_LOOPS(int8, int8_t, unsigned int)
NR_SIGNED_UNARY_LOOPS(int16, int16_t, unsigned int)
NR_SIGNED_UNARY_LOOPS(int32, int32_t, uint32_t)
NR_SIGNED_UNARY_LOOPS(int64, int64_t, uint64_t)

NR_INT_UNARY_COMMON(uint8, uint8_t)
NR_UNARY_LOOP(nr_un_neg_uint8, uint8_t, uint8_t, double, 0u - (unsigned int)x)
NR_UNARY_LOOP(nr_un_abs_uint8, uint8_t, uint8_t, double, x)
NR_UNARY_LOOP(nr_un_sign_uint8, uint8_t, uint8_t, double, x > 0)
NR_UNARY_LOOP(nr_un_square_uint8, uint8_t, uint8_t, double, (unsigned int)x * x)
NR_UNARY_LOOP(nr_un_relu_uint8, uint8_t, uint8_t, double, x)
NR_UNARY_LOOP(nr_un_bitwise_not_uint8, uint8_t, uint8_t, double, ~x)

/* bool: abs/sign/square/relu/rounding are the (normalized) identity. */
NR_UNARY_LOOP(nr_un_abs_bool, nr_bool_t, nr_bool_t, double, x != 0)
NR_UNARY_LOOP(nr_un_sign_bool, nr_bool_t, nr_bool_t, double, x != 0)
NR_UNARY_LOOP(nr_un_square_bool, nr_bool_t, nr_bool_t, double, x != 0)
NR_UNARY_LOOP(nr_un_relu_bool, nr_bool_t, nr_bool_t, double, x != 0)
NR_UNARY_LOOP(nr_un_floor_bool, nr_bool_t, nr_bool_t, double, x != 0)
NR_UNARY_LOOP(nr_un_ceil_bool, nr_bool_t, nr_bool_t, double, x != 0)
NR_UNARY_LOOP(nr_un_round_bool, nr_bool_t, nr_bool_t, double, x != 0)
NR_UNARY_LOOP(nr_un_trunc_bool, nr_bool_t, nr_bool_t, double, x != 0)
NR_UNARY_LOOP(nr_un_isnan_bool, nr_bool_t, nr_bool_t, double, 0)
NR_UNARY_LOOP(nr_un_isinf_bool, nr_bool_t, nr_bool_t, double, 0)
NR_UNARY_LOOP(nr_un_isfinite_bool, nr_bool_t, nr_bool_t, double, 1)
NR_UNARY_LOOP(nr_un_logical_not_bool, nr_bool_t, nr_bool_t, double, x == 0)
NR_UNARY_LOOP(nr_un_bitwise_not_bool, nr_bool_t, nr_bool_t, double, x == 0)

#define NR_UROW_ALL(op) { nr_un_##op##_bool, nr_un_##op##_int8, nr_un_##op##_uint8,       \
    nr_un_##op##_int16, nr_un_##op##_int32, nr_un_##op##_int64,                          \
    nr_un_##op##_float32, nr_un_##op##_float64 }
#define NR_UROW_NUMERIC(op) { NULL, nr_un_##op##_int8, nr_un_##op##_uint8,               \
    nr_un_##op##_int16, nr_un_##op##_int32, nr_un_##op##_int64,                          \
    nr_un_##op##_float32, nr_un_##op##_float64 }
#define NR_UROW_INTEGRAL(op) { nr_un_##op##_bool, nr_un_##op##_int8, nr_un_##op##_uint8,  \
    nr_un_##op##_int16, nr_un_##op##_int32, nr_un_##op##_int64, NULL, NULL }
#define NR_UROW_FLOAT(op) { NULL, NULL, NULL, NULL, NULL, NULL,                          \
    nr_un_##op##_float32, nr_un_##op##_float64 }

static nr_inner_loop const nr_unary_loops[NR_UNARY_NOPS][NR_NUMERIC_DTYPES] = {
    [NR_UN_NEG] = NR_UROW_NUMERIC(neg),
    [NR_UN_ABS] = NR_UROW_ALL(abs),
    [NR_UN_SIGN] = NR_UROW_ALL(sign),
    [NR_UN_SQUARE] = NR_UROW_ALL(square),
    [NR_UN_RECIPROCAL] = NR_UROW_FLOAT(reciprocal),
    [NR_UN_EXP] = NR_UROW_FLOAT(exp),
    [NR_UN_EXPM1] = NR_UROW_FLOAT(expm1),
    [NR_UN_LOG] = NR_UROW_FLOAT(log),
    [NR_UN_LOG1P] = NR_UROW_FLOAT(log1p),
    [NR_UN_LOG2] = NR_UROW_FLOAT(log2),
    [NR_UN_LOG10] = NR_UROW_FLOAT(log10),
    [NR_UN_SQRT] = NR_UROW_FLOAT(sqrt),
    [NR_UN_RSQRT] = NR_UROW_FLOAT(rsqrt),
    [NR_UN_SIN] = NR_UROW_FLOAT(sin),
    [NR_UN_COS] = NR_UROW_FLOAT(cos),
    [NR_UN_TAN] = NR_UROW_FLOAT(tan),
    [NR_UN_TANH] = NR_UROW_FLOAT(tanh),
    [NR_UN_SIGMOID] = NR_UROW_FLOAT(sigmoid),
    [NR_UN_RELU] = NR_UROW_ALL(relu),
    [NR_UN_GELU] = NR_UROW_FLOAT(gelu),
    [NR_UN_GELU_TANH] = NR_UROW_FLOAT(gelu_tanh),
    [NR_UN_SILU] = NR_UROW_FLOAT(silu),
    [NR_UN_SOFTPLUS] = NR_UROW_FLOAT(softplus),
    [NR_UN_LEAKY_RELU] = NR_UROW_FLOAT(leaky_relu),
    [NR_UN_ELU] = NR_UROW_FLOAT(elu),
    [NR_UN_ERF] = NR_UROW_FLOAT(erf),
    [NR_UN_FLOOR] = NR_UROW_ALL(floor),
    [NR_UN_CEIL] = NR_UROW_ALL(ceil),
    [NR_UN_ROUND] = NR_UROW_ALL(round),
    [NR_UN_TRUNC] = NR_UROW_ALL(trunc),
    [NR_UN_ISNAN] = NR_UROW_ALL(isnan),
    [NR_UN_ISINF] = NR_UROW_ALL(isinf),
    [NR_UN_ISFINITE] = NR_UROW_ALL(isfinite),
    [NR_UN_LOGICAL_NOT] = NR_UROW_ALL(logical_not),
    [NR_UN_BITWISE_NOT] = NR_UROW_INTEGRAL(bitwise_not),
};

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

#endif /* NR_ELEMENTWISE_UNARY_H */
