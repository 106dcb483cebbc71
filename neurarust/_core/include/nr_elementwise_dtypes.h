/* Element types the CPU kernels understand, and IEEE half <-> float/double.
 *
 * The half conversions are written with selects only (no branches, no
 * float->int casts) so copy loops that use them vectorize.
 */
#ifndef NR_ELEMENTWISE_DTYPES_H
#define NR_ELEMENTWISE_DTYPES_H

#include <stdint.h>
#include "nr_elementwise_math.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
/* Same options as the loops these helpers get inlined into (gcc refuses to
 * vectorize across differing optimize options). */
#pragma GCC optimize("no-trapping-math")
#endif

/* Indices used by every kernel table; float16 is only a storage type (copy). */
enum nr_dtype {
    NR_BOOL = 0, NR_INT8, NR_UINT8, NR_INT16, NR_INT32, NR_INT64,
    NR_FLOAT32, NR_FLOAT64, NR_FLOAT16,
    NR_NDTYPES,
    NR_NUMERIC_DTYPES = NR_FLOAT16 /* dtypes with arithmetic kernels */
};

typedef unsigned char nr_bool_t;
typedef uint16_t nr_half_t; /* raw IEEE binary16 bits */

static inline int nr_dtype_is_float(int dt) { return dt == NR_FLOAT32 || dt == NR_FLOAT64 || dt == NR_FLOAT16; }
static inline int nr_dtype_is_integer(int dt) { return dt >= NR_INT8 && dt <= NR_INT64; }

static inline float nr_half_to_float(nr_half_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t mag = (uint32_t)(h & 0x7fffu) << 13;
    uint32_t exponent = (h >> 10) & 0x1fu;
    /* Moving the 5-bit exponent into the 8-bit field is a rebias by 112. */
    uint32_t normal = mag + 0x38000000u;
    uint32_t inf_nan = mag | 0x7f800000u;
    float subnormal = (float)(h & 0x3ffu) * 5.9604644775390625e-08f; /* m * 2^-24 */
    uint32_t r = exponent == 31u ? inf_nan : normal;
    r = exponent == 0u ? nr_f2u(subnormal) : r;
    return nr_u2f(sign | r);
}

static inline double nr_half_to_double(nr_half_t h) { return (double)nr_half_to_float(h); }

/* Round to nearest, ties to even; NaN stays NaN (quiet, payload top kept). */
static inline nr_half_t nr_float_to_half(float f)
{
    uint32_t x = nr_f2u(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t ax = x & 0x7fffffffu;
    /* Normal range: drop 13 mantissa bits with round-half-even (bias 0xfff
     * plus the kept LSB); a carry correctly bumps the exponent. */
    uint32_t normal = (ax - 0x38000000u + 0x0fffu + ((ax >> 13) & 1u)) >> 13;
    /* Below 2^-14 the result is a multiple of 2^-24: round |f| * 2^24 to an
     * integer by adding 1.5 * 2^23 (float addition rounds half-even). */
    uint32_t subnormal = nr_f2u(nr_u2f(ax) * 16777216.0f + 12582912.0f) - 0x4b400000u;
    uint32_t nan = 0x7e00u | ((ax >> 13) & 0x3ffu);
    uint32_t r = ax < 0x38800000u ? subnormal : normal;
    r = ax >= 0x477ff000u ? 0x7c00u : r; /* rounds to >= 65520: inf */
    r = ax > 0x7f800000u ? nan : r;
    return (nr_half_t)(sign | r);
}

/* Direct from double: going through float could round twice. */
static inline nr_half_t nr_double_to_half(double d)
{
    uint64_t x = nr_d2u(d);
    uint32_t sign = (uint32_t)(x >> 48) & 0x8000u;
    uint64_t ax = x & 0x7fffffffffffffffull;
    uint64_t normal = (ax - 0x3f00000000000000ull + 0x1ffffffffffull + ((ax >> 42) & 1u)) >> 42;
    uint64_t subnormal = nr_d2u(nr_u2d(ax) * 16777216.0 + 6755399441055744.0) - 0x4338000000000000ull;
    uint64_t nan = 0x7e00u | ((ax >> 42) & 0x3ffu);
    uint64_t r = ax < 0x3f10000000000000ull ? subnormal : normal;
    r = ax >= 0x40effe0000000000ull ? 0x7c00u : r;
    r = ax > 0x7ff0000000000000ull ? nan : r;
    return (nr_half_t)(sign | (uint32_t)r);
}

/* float -> int64 truncating toward zero; NaN -> 0, out of range saturates
 * (C leaves those undefined; x86 would trap nothing but return garbage). */
static inline int64_t nr_double_to_int64(double x)
{
    int64_t r = (x > -9223372036854775808.0 && x < 9223372036854775808.0) ? (int64_t)x : 0;
    r = x >= 9223372036854775808.0 ? INT64_MAX : r;
    r = x <= -9223372036854775808.0 ? INT64_MIN : r;
    return r;
}

/* Narrow integer targets wrap modulo 2^bits like numpy/torch casts do for
 * in-range-of-int64 values; going through int32 keeps float32 loops in
 * 32-bit lanes where the value fits. */
static inline int32_t nr_float_to_int32(float x)
{
    int32_t r = (x > -2147483648.0f && x < 2147483648.0f) ? (int32_t)x : 0;
    r = x >= 2147483648.0f ? INT32_MAX : r;
    r = x <= -2147483648.0f ? INT32_MIN : r;
    return r;
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

#endif /* NR_ELEMENTWISE_DTYPES_H */
