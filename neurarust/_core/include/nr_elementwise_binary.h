/* Binary elementwise inner loops: out = op(a, b), operands (out, a, b).
 *
 * Every loop has three shapes: all contiguous, one input broadcast along the
 * run (stride 0, e.g. x * 2.0), and general strided.  Integer arithmetic is
 * done in unsigned types so overflow wraps instead of being undefined.
 */
#ifndef NR_ELEMENTWISE_BINARY_H
#define NR_ELEMENTWISE_BINARY_H

#include "nr_strided.h"
#include "nr_elementwise_dtypes.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
/* Lets gcc turn our selects into blends; we never inspect FP exceptions. */
#pragma GCC optimize("no-trapping-math")
#endif

enum nr_binary_op {
    NR_BIN_ADD, NR_BIN_SUB, NR_BIN_MUL, NR_BIN_DIV, NR_BIN_FLOOR_DIVIDE,
    NR_BIN_REMAINDER, NR_BIN_FMOD, NR_BIN_POW, NR_BIN_MAXIMUM, NR_BIN_MINIMUM,
    NR_BIN_EQ, NR_BIN_NE, NR_BIN_LT, NR_BIN_LE, NR_BIN_GT, NR_BIN_GE,
    NR_BIN_LOGICAL_AND, NR_BIN_LOGICAL_OR, NR_BIN_LOGICAL_XOR,
    NR_BIN_BITWISE_AND, NR_BIN_BITWISE_OR, NR_BIN_BITWISE_XOR,
    /* relu's gradient in one pass: a (the incoming grad) where b (relu's
     * output) > 0, else 0; a NaN output passes the grad, as in torch. */
    NR_BIN_THRESHOLD_BACKWARD,
    NR_BINARY_NOPS
};

static inline int nr_binary_returns_bool(int op)
{
    return op >= NR_BIN_EQ && op <= NR_BIN_LOGICAL_XOR;
}

#define NR_BINARY_LOOP(NAME, TI, TO, EXPR)                                               \
    NR_SIMD_CLONES static void NAME(char **data, const npy_intp *st, npy_intp n,         \
                                    const void *ctx)                                     \
    {                                                                                    \
        char *po = data[0];                                                              \
        const char *pa = data[1], *pb = data[2];                                         \
        npy_intp so = st[0], sa = st[1], sb = st[2];                                     \
        (void)ctx;                                                                       \
        if (so == (npy_intp)sizeof(TO) && sa == (npy_intp)sizeof(TI)) {                  \
            TO *o = (TO *)po;                                                            \
            const TI *A = (const TI *)pa;                                                \
            if (sb == (npy_intp)sizeof(TI)) {                                            \
                const TI *B = (const TI *)pb;                                            \
                NR_IVDEP for (npy_intp i = 0; i < n; i++) {                              \
                    TI x = A[i], y = B[i];                                               \
                    o[i] = (TO)(EXPR);                                                   \
                }                                                                        \
                return;                                                                  \
            }                                                                            \
            if (sb == 0) {                                                               \
                const TI y = *(const TI *)pb;                                            \
                NR_IVDEP for (npy_intp i = 0; i < n; i++) {                              \
                    TI x = A[i];                                                         \
                    o[i] = (TO)(EXPR);                                                   \
                }                                                                        \
                return;                                                                  \
            }                                                                            \
        }                                                                                \
        if (so == (npy_intp)sizeof(TO) && sa == 0 && sb == (npy_intp)sizeof(TI)) {       \
            TO *o = (TO *)po;                                                            \
            const TI x = *(const TI *)pa;                                                \
            const TI *B = (const TI *)pb;                                                \
            NR_IVDEP for (npy_intp i = 0; i < n; i++) {                                  \
                TI y = B[i];                                                             \
                o[i] = (TO)(EXPR);                                                       \
            }                                                                            \
            return;                                                                      \
        }                                                                                \
        for (npy_intp i = 0; i < n; i++) {                                               \
            TI x = *(const TI *)(pa + i * sa), y = *(const TI *)(pb + i * sb);           \
            *(TO *)(po + i * so) = (TO)(EXPR);                                           \
        }                                                                                \
    }

/* ------------------------------------------------------ scalar helpers -- */

/* Python/torch floor division and remainder for floats: the quotient is
 * derived from fmod so that q*b + r == a holds as closely as possible and
 * the rounding of a/b cannot push floor() off by one. */
#define NR_FLOAT_DIVMOD_HELPERS(SFX, T, FMOD, FLOOR, COPYSIGN)                           \
    static inline T nr_floordiv_##SFX(T a, T b)                                          \
    {                                                                                    \
        if (b == 0) return a / b;                                                        \
        T mod = FMOD(a, b);                                                              \
        T div = (a - mod) / b;                                                           \
        if (mod != 0 && ((b < 0) != (mod < 0))) div -= 1;                                \
        if (div == 0) return COPYSIGN((T)0, a / b);                                      \
        T fl = FLOOR(div);                                                               \
        return (div - fl > (T)0.5) ? fl + 1 : fl;                                        \
    }                                                                                    \
    static inline T nr_remainder_##SFX(T a, T b)                                         \
    {                                                                                    \
        T mod = FMOD(a, b);                                                              \
        return (mod != 0 && ((b < 0) != (mod < 0))) ? mod + b : mod;                     \
    }                                                                                    \
    static inline T nr_maximum_##SFX(T a, T b) { return a != a ? a : (b != b ? b : (a > b ? a : b)); } \
    static inline T nr_minimum_##SFX(T a, T b) { return a != a ? a : (b != b ? b : (a < b ? a : b)); }

NR_FLOAT_DIVMOD_HELPERS(float32, float, fmodf, floorf, copysignf)
NR_FLOAT_DIVMOD_HELPERS(float64, double, fmod, floor, copysign)

/* Signed integers.  Divisors are checked for zero before any loop runs; the
 * y == 0 arms only make a bypass harmless (no SIGFPE), and y == -1 is
 * special-cased because INT_MIN / -1 traps on x86. */
#define NR_SIGNED_INT_HELPERS(SFX, T, U)                                                 \
    static inline T nr_floordiv_##SFX(T x, T y)                                          \
    {                                                                                    \
        if (y == 0) return 0;                                                            \
        if (y == -1) return (T)((U)0 - (U)x);                                            \
        T q = (T)(x / y), r = (T)(x % y);                                                \
        return (r != 0 && ((r < 0) != (y < 0))) ? (T)(q - 1) : q;                        \
    }                                                                                    \
    static inline T nr_remainder_##SFX(T x, T y)                                         \
    {                                                                                    \
        if (y == 0 || y == -1) return 0;                                                 \
        T r = (T)(x % y);                                                                \
        return (r != 0 && ((r < 0) != (y < 0))) ? (T)(r + y) : r;                        \
    }                                                                                    \
    static inline T nr_fmod_##SFX(T x, T y)                                              \
    {                                                                                    \
        if (y == 0 || y == -1) return 0;                                                 \
        return (T)(x % y);                                                               \
    }                                                                                    \
    /* Negative exponents are rejected up front; this arm mirrors torch's   \
     * tensor-exponent rule so the loop is total anyway. */                              \
    static inline T nr_pow_##SFX(T base, T exponent)                                     \
    {                                                                                    \
        if (exponent < 0) return base == 1 ? 1 : (base == -1 ? ((exponent & 1) ? -1 : 1) : 0); \
        U result = 1, b = (U)base;                                                       \
        while (exponent) {                                                               \
            if (exponent & 1) result *= b;                                               \
            b *= b;                                                                      \
            exponent = (T)(exponent >> 1);                                               \
        }                                                                                \
        return (T)result;                                                                \
    }

NR_SIGNED_INT_HELPERS(int64, int64_t, uint64_t)

/* Up to 32 bits, division goes through floating point so it vectorizes (x86
 * has no SIMD integer divide).  It is exact: with |x| < 2^p (p = 24 for
 * float, 53 for double) the rounding error of x/y is below 1/|y|, the least
 * distance from a non-integer quotient to an integer, so floor/trunc of the
 * rounded quotient is the true one; integer quotients are exact already.
 * The y == 0 / y == -1 arms are selected before any out-of-range
 * float->int conversion could happen. */
/* Only signed types have a -1 (for uint8, (T)-1 is 255). */
#define NR_IS_MINUS_ONE(T, y) ((T)-1 < 0 && (y) == (T)-1)
#define NR_SMALL_INT_HELPERS(SFX, T, U, F, FLOOR, TRUNC)                                 \
    static inline T nr_floordiv_##SFX(T x, T y)                                          \
    {                                                                                    \
        F q = FLOOR((F)x / (F)y);                                                        \
        return y == 0 ? (T)0 : (NR_IS_MINUS_ONE(T, y) ? (T)((U)0 - (U)x) : (T)q);                   \
    }                                                                                    \
    static inline T nr_remainder_##SFX(T x, T y)                                         \
    {                                                                                    \
        F q = FLOOR((F)x / (F)y);                                                        \
        T safe_q = (y == 0 || NR_IS_MINUS_ONE(T, y)) ? (T)0 : (T)q;                                 \
        T r = (T)((U)x - (U)safe_q * (U)y);                                              \
        return (y == 0 || NR_IS_MINUS_ONE(T, y)) ? (T)0 : r;                                        \
    }                                                                                    \
    static inline T nr_fmod_##SFX(T x, T y)                                              \
    {                                                                                    \
        F q = TRUNC((F)x / (F)y);                                                        \
        T safe_q = (y == 0 || NR_IS_MINUS_ONE(T, y)) ? (T)0 : (T)q;                                 \
        T r = (T)((U)x - (U)safe_q * (U)y);                                              \
        return (y == 0 || NR_IS_MINUS_ONE(T, y)) ? (T)0 : r;                                        \
    }

NR_SMALL_INT_HELPERS(int8, int8_t, unsigned int, float, floorf, truncf)
NR_SMALL_INT_HELPERS(uint8, uint8_t, unsigned int, float, floorf, truncf)
NR_SMALL_INT_HELPERS(int16, int16_t, unsigned int, float, floorf, truncf)
NR_SMALL_INT_HELPERS(int32, int32_t, uint32_t, double, floor, trunc)

/* Negative exponents are rejected before any loop runs; they give 0 here
 * (1 and -1 excepted) like torch's tensor-exponent rule. */
#define NR_SMALL_INT_POW(SFX, T, U)                                                      \
    static inline T nr_pow_##SFX(T base, T exponent)                                     \
    {                                                                                    \
        if (exponent < 0) return base == 1 ? 1 : (base == -1 ? ((exponent & 1) ? -1 : 1) : 0); \
        U result = 1, b = (U)base;                                                       \
        while (exponent) {                                                               \
            if (exponent & 1) result *= b;                                               \
            b *= b;                                                                      \
            exponent = (T)(exponent >> 1);                                               \
        }                                                                                \
        return (T)result;                                                                \
    }
NR_SMALL_INT_POW(int8, int8_t, unsigned int)
NR_SMALL_INT_POW(int16, int16_t, unsigned int)
NR_SMALL_INT_POW(int32, int32_t, uint32_t)

static inline uint8_t nr_pow_uint8(uint8_t base, uint8_t exponent)
{
    unsigned int result = 1, b = base;
    while (exponent) {
        if (exponent & 1) result *= b;
        b *= b;
        exponent >>= 1;
    }
    return (uint8_t)result;
}

/* --------------------------------------------------------------- loops -- */

/* Ops every numeric dtype (not bool) has with the same spelling. */
#define NR_COMMON_LOOPS(SFX, T)                                                          \
    NR_BINARY_LOOP(nr_bin_eq_##SFX, T, nr_bool_t, x == y)                                \
    NR_BINARY_LOOP(nr_bin_ne_##SFX, T, nr_bool_t, x != y)                                \
    NR_BINARY_LOOP(nr_bin_lt_##SFX, T, nr_bool_t, x < y)                                 \
    NR_BINARY_LOOP(nr_bin_le_##SFX, T, nr_bool_t, x <= y)                                \
    NR_BINARY_LOOP(nr_bin_gt_##SFX, T, nr_bool_t, x > y)                                 \
    NR_BINARY_LOOP(nr_bin_ge_##SFX, T, nr_bool_t, x >= y)                                \
    NR_BINARY_LOOP(nr_bin_logical_and_##SFX, T, nr_bool_t, (x != 0) & (y != 0))         \
    NR_BINARY_LOOP(nr_bin_logical_or_##SFX, T, nr_bool_t, (x != 0) | (y != 0))          \
    NR_BINARY_LOOP(nr_bin_logical_xor_##SFX, T, nr_bool_t, (x != 0) ^ (y != 0))         \
    NR_BINARY_LOOP(nr_bin_floor_divide_##SFX, T, T, nr_floordiv_##SFX(x, y))             \
    NR_BINARY_LOOP(nr_bin_remainder_##SFX, T, T, nr_remainder_##SFX(x, y))              \
    NR_BINARY_LOOP(nr_bin_threshold_backward_##SFX, T, T, y <= 0 ? (T)0 : x)

#define NR_INT_LOOPS(SFX, T, U)                                                          \
    NR_COMMON_LOOPS(SFX, T)                                                              \
    NR_BINARY_LOOP(nr_bin_add_##SFX, T, T, (U)x + (U)y)                                  \
    NR_BINARY_LOOP(nr_bin_sub_##SFX, T, T, (U)x - (U)y)                                  \
    NR_BINARY_LOOP(nr_bin_mul_##SFX, T, T, (U)x * (U)y)                                  \
    NR_BINARY_LOOP(nr_bin_fmod_##SFX, T, T, nr_fmod_##SFX(x, y))                         \
    NR_BINARY_LOOP(nr_bin_pow_##SFX, T, T, nr_pow_##SFX(x, y))                           \
    NR_BINARY_LOOP(nr_bin_maximum_##SFX, T, T, x > y ? x : y)                            \
    NR_BINARY_LOOP(nr_bin_minimum_##SFX, T, T, x < y ? x : y)                            \
    NR_BINARY_LOOP(nr_bin_bitwise_and_##SFX, T, T, x & y)                                \
    NR_BINARY_LOOP(nr_bin_bitwise_or_##SFX, T, T, x | y)                                 \
    NR_BINARY_LOOP(nr_bin_bitwise_xor_##SFX, T, T, x ^ y)

#define NR_FLOAT_LOOPS(SFX, T, FMOD, POW)                                                \
    NR_COMMON_LOOPS(SFX, T)                                                              \
    NR_BINARY_LOOP(nr_bin_add_##SFX, T, T, x + y)                                        \
    NR_BINARY_LOOP(nr_bin_sub_##SFX, T, T, x - y)                                        \
    NR_BINARY_LOOP(nr_bin_mul_##SFX, T, T, x * y)                                        \
    NR_BINARY_LOOP(nr_bin_div_##SFX, T, T, x / y)                                        \
    NR_BINARY_LOOP(nr_bin_fmod_##SFX, T, T, FMOD(x, y))                                  \
    NR_BINARY_LOOP(nr_bin_pow_##SFX, T, T, POW(x, y))                                    \
    NR_BINARY_LOOP(nr_bin_maximum_##SFX, T, T, nr_maximum_##SFX(x, y))                   \
    NR_BINARY_LOOP(nr_bin_minimum_##SFX, T, T, nr_minimum_##SFX(x, y))

NR_INT_LOOPS(int8, int8_t, unsigned int)
NR_INT_LOOPS(uint8, uint8_t, unsigned int)
NR_INT_LOOPS(int16, int16_t, unsigned int)
NR_INT_LOOPS(int32, int32_t, uint32_t)
NR_INT_LOOPS(int64, int64_t, uint64_t)
NR_FLOAT_LOOPS(float32, float, fmodf, powf)
NR_FLOAT_LOOPS(float64, double, fmod, pow)

/* x ** 2 (a broadcast exponent of exactly 2) is common enough to skip the
 * exp/log route; x * x is the correctly rounded pow(x, 2). */
#define NR_POW_WITH_SQUARE(SFX, T)                                                       \
    NR_BINARY_LOOP(nr_bin_square_##SFX, T, T, x * x + (T)0 * y)                          \
    static void nr_bin_pow_or_square_##SFX(char **data, const npy_intp *st, npy_intp n,  \
                                           const void *ctx)                              \
    {                                                                                    \
        if (st[2] == 0 && *(const T *)data[2] == (T)2) nr_bin_square_##SFX(data, st, n, ctx); \
        else nr_bin_pow_##SFX(data, st, n, ctx);                                         \
    }
NR_POW_WITH_SQUARE(float32, float)
NR_POW_WITH_SQUARE(float64, double)

/* bool follows torch: + is or, * is and, max/min are or/and; bytes other
 * than 0/1 (reachable through views) count as true. */
#define NR_B(v) ((v) != 0)
NR_BINARY_LOOP(nr_bin_add_bool, nr_bool_t, nr_bool_t, NR_B(x) | NR_B(y))
NR_BINARY_LOOP(nr_bin_mul_bool, nr_bool_t, nr_bool_t, NR_B(x) & NR_B(y))
NR_BINARY_LOOP(nr_bin_maximum_bool, nr_bool_t, nr_bool_t, NR_B(x) | NR_B(y))
NR_BINARY_LOOP(nr_bin_minimum_bool, nr_bool_t, nr_bool_t, NR_B(x) & NR_B(y))
NR_BINARY_LOOP(nr_bin_eq_bool, nr_bool_t, nr_bool_t, NR_B(x) == NR_B(y))
NR_BINARY_LOOP(nr_bin_ne_bool, nr_bool_t, nr_bool_t, NR_B(x) != NR_B(y))
NR_BINARY_LOOP(nr_bin_lt_bool, nr_bool_t, nr_bool_t, NR_B(x) < NR_B(y))
NR_BINARY_LOOP(nr_bin_le_bool, nr_bool_t, nr_bool_t, NR_B(x) <= NR_B(y))
NR_BINARY_LOOP(nr_bin_gt_bool, nr_bool_t, nr_bool_t, NR_B(x) > NR_B(y))
NR_BINARY_LOOP(nr_bin_ge_bool, nr_bool_t, nr_bool_t, NR_B(x) >= NR_B(y))
NR_BINARY_LOOP(nr_bin_logical_and_bool, nr_bool_t, nr_bool_t, NR_B(x) & NR_B(y))
NR_BINARY_LOOP(nr_bin_logical_or_bool, nr_bool_t, nr_bool_t, NR_B(x) | NR_B(y))
NR_BINARY_LOOP(nr_bin_logical_xor_bool, nr_bool_t, nr_bool_t, NR_B(x) ^ NR_B(y))
NR_BINARY_LOOP(nr_bin_bitwise_and_bool, nr_bool_t, nr_bool_t, NR_B(x) & NR_B(y))
NR_BINARY_LOOP(nr_bin_bitwise_or_bool, nr_bool_t, nr_bool_t, NR_B(x) | NR_B(y))
NR_BINARY_LOOP(nr_bin_bitwise_xor_bool, nr_bool_t, nr_bool_t, NR_B(x) ^ NR_B(y))

/* --------------------------------------------------------------- table -- */

#define NR_ROW_ALL(op) { nr_bin_##op##_bool, nr_bin_##op##_int8, nr_bin_##op##_uint8,     \
    nr_bin_##op##_int16, nr_bin_##op##_int32, nr_bin_##op##_int64,                       \
    nr_bin_##op##_float32, nr_bin_##op##_float64 }
#define NR_ROW_NUMERIC(op) { NULL, nr_bin_##op##_int8, nr_bin_##op##_uint8,              \
    nr_bin_##op##_int16, nr_bin_##op##_int32, nr_bin_##op##_int64,                       \
    nr_bin_##op##_float32, nr_bin_##op##_float64 }
#define NR_ROW_INTEGRAL(op) { nr_bin_##op##_bool, nr_bin_##op##_int8, nr_bin_##op##_uint8, \
    nr_bin_##op##_int16, nr_bin_##op##_int32, nr_bin_##op##_int64, NULL, NULL }
#define NR_ROW_FLOAT(op) { NULL, NULL, NULL, NULL, NULL, NULL,                           \
    nr_bin_##op##_float32, nr_bin_##op##_float64 }

/* NULL: the dtype does not support the op (the caller raises TypeError). */
static nr_inner_loop const nr_binary_loops[NR_BINARY_NOPS][NR_NUMERIC_DTYPES] = {
    [NR_BIN_ADD] = NR_ROW_ALL(add),
    [NR_BIN_SUB] = NR_ROW_NUMERIC(sub),
    [NR_BIN_MUL] = NR_ROW_ALL(mul),
    [NR_BIN_DIV] = NR_ROW_FLOAT(div),
    [NR_BIN_FLOOR_DIVIDE] = NR_ROW_NUMERIC(floor_divide),
    [NR_BIN_REMAINDER] = NR_ROW_NUMERIC(remainder),
    [NR_BIN_FMOD] = NR_ROW_NUMERIC(fmod),
    [NR_BIN_POW] = { NULL, nr_bin_pow_int8, nr_bin_pow_uint8, nr_bin_pow_int16, nr_bin_pow_int32,
                     nr_bin_pow_int64, nr_bin_pow_or_square_float32, nr_bin_pow_or_square_float64 },
    [NR_BIN_MAXIMUM] = NR_ROW_ALL(maximum),
    [NR_BIN_MINIMUM] = NR_ROW_ALL(minimum),
    [NR_BIN_EQ] = NR_ROW_ALL(eq),
    [NR_BIN_NE] = NR_ROW_ALL(ne),
    [NR_BIN_LT] = NR_ROW_ALL(lt),
    [NR_BIN_LE] = NR_ROW_ALL(le),
    [NR_BIN_GT] = NR_ROW_ALL(gt),
    [NR_BIN_GE] = NR_ROW_ALL(ge),
    [NR_BIN_LOGICAL_AND] = NR_ROW_ALL(logical_and),
    [NR_BIN_LOGICAL_OR] = NR_ROW_ALL(logical_or),
    [NR_BIN_LOGICAL_XOR] = NR_ROW_ALL(logical_xor),
    [NR_BIN_BITWISE_AND] = NR_ROW_INTEGRAL(bitwise_and),
    [NR_BIN_BITWISE_OR] = NR_ROW_INTEGRAL(bitwise_or),
    [NR_BIN_BITWISE_XOR] = NR_ROW_INTEGRAL(bitwise_xor),
    [NR_BIN_THRESHOLD_BACKWARD] = NR_ROW_NUMERIC(threshold_backward),
};

/* ----------------------------------------------- divisor / exponent scans -- */

/* ctx is an int flag set to 1 when a zero (resp. negative) is seen; run
 * these single-threaded. */
#define NR_SCAN_LOOP(NAME, T, TEST)                                                      \
    static void NAME(char **data, const npy_intp *st, npy_intp n, const void *ctx)       \
    {                                                                                    \
        const char *p = data[0];                                                         \
        npy_intp s = st[0];                                                              \
        int found = 0;                                                                   \
        for (npy_intp i = 0; i < n; i++) {                                               \
            T v = *(const T *)(p + i * s);                                               \
            found |= (TEST);                                                             \
        }                                                                                \
        if (found) *(int *)ctx = 1;                                                      \
    }

NR_SCAN_LOOP(nr_scan_zero_1, uint8_t, v == 0)
NR_SCAN_LOOP(nr_scan_zero_2, uint16_t, v == 0)
NR_SCAN_LOOP(nr_scan_zero_4, uint32_t, v == 0)
NR_SCAN_LOOP(nr_scan_zero_8, uint64_t, v == 0)
NR_SCAN_LOOP(nr_scan_negative_1, int8_t, v < 0)
NR_SCAN_LOOP(nr_scan_negative_2, int16_t, v < 0)
NR_SCAN_LOOP(nr_scan_negative_4, int32_t, v < 0)
NR_SCAN_LOOP(nr_scan_negative_8, int64_t, v < 0)

static inline nr_inner_loop nr_scan_zero_loop(int itemsize)
{
    return itemsize == 1 ? nr_scan_zero_1 : itemsize == 2 ? nr_scan_zero_2
         : itemsize == 4 ? nr_scan_zero_4 : nr_scan_zero_8;
}

static inline nr_inner_loop nr_scan_negative_loop(int itemsize)
{
    return itemsize == 1 ? nr_scan_negative_1 : itemsize == 2 ? nr_scan_negative_2
         : itemsize == 4 ? nr_scan_negative_4 : nr_scan_negative_8;
}

#undef NR_B
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

#endif /* NR_ELEMENTWISE_BINARY_H */
