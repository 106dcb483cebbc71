/* Branch-free exp for float32 and float64 that gcc can inline into
 * vectorized loops (libm's exp is an opaque call that blocks vectorization).
 *
 * Method: exp(x) = 2^k * exp(r) with k = round(x / ln2) and
 * r = x - k*ln2 in [-ln2/2, ln2/2].  ln2 is split into a short "hi" part
 * (few mantissa bits, so k*hi is exact) and a "lo" correction.  exp(r) is
 * its Taylor polynomial, truncated where the remainder is far below half an
 * ulp: degree 7 for float (r^8/8! < 6e-9), degree 13 for double
 * (r^14/14! < 5e-18).  2^k is applied as two exponent-field scalings so
 * results that are subnormal or just below the overflow threshold come out
 * right.  Inputs are clamped to a range whose results already round to
 * 0 or inf; NaN passes through the clamps untouched and poisons the result.
 * Measured error: below 1.2 ulp over the normal range (the tests allow 2).
 */
#ifndef NR_REDUCE_EXP_H
#define NR_REDUCE_EXP_H

#include <stdint.h>
#include <string.h>

static inline float nr_bits_to_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline double nr_bits_to_f64(uint64_t u)
{
    double f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline float nr_reduce_expf(float x)
{
    /* Adding 1.5*2^23 leaves round(v) in the low mantissa bits for |v| < 2^22. */
    const float round_shift = 12582912.0f;
    const float ln2_hi = 0.693359375f;            /* 355/512 */
    const float ln2_lo = -2.12194440e-4f;         /* ln2 - ln2_hi */
    x = x < -104.0f ? -104.0f : x;                /* exp(-104) rounds to 0 */
    x = x > 89.0f ? 89.0f : x;                    /* exp(89) rounds to inf */
    float shifted = x * 1.44269504088896341f + round_shift;
    float k = shifted - round_shift;
    float r = (x - k * ln2_hi) - k * ln2_lo;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    uint32_t shifted_bits;
    memcpy(&shifted_bits, &shifted, sizeof shifted_bits);
    /* Unsigned arithmetic: a NaN input yields garbage bits here, never UB. */
    uint32_t k_int = shifted_bits - 0x4B400000u;
    uint32_t k_half = (uint32_t)((int32_t)k_int >> 1);
    uint32_t k_rest = k_int - k_half;
    float scale_a = nr_bits_to_f32((k_half + 127u) << 23);
    float scale_b = nr_bits_to_f32((k_rest + 127u) << 23);
    return p * scale_a * scale_b;
}

static inline double nr_reduce_exp(double x)
{
    const double round_shift = 6755399441055744.0;   /* 1.5*2^52 */
    const double ln2_hi = 0.6931467056274414;        /* 21 significant bits */
    const double ln2_lo = 4.7493250390316726e-07;    /* ln2 - ln2_hi */
    x = x < -746.0 ? -746.0 : x;
    x = x > 710.0 ? 710.0 : x;
    double shifted = x * 1.4426950408889634 + round_shift;
    double k = shifted - round_shift;
    double r = (x - k * ln2_hi) - k * ln2_lo;
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    uint64_t shifted_bits;
    memcpy(&shifted_bits, &shifted, sizeof shifted_bits);
    uint64_t k_int = shifted_bits - 0x4338000000000000ull;
    uint64_t k_half = (uint64_t)((int64_t)k_int >> 1);
    uint64_t k_rest = k_int - k_half;
    double scale_a = nr_bits_to_f64((k_half + 1023u) << 52);
    double scale_b = nr_bits_to_f64((k_rest + 1023u) << 52);
    return p * scale_a * scale_b;
}

#endif /* NR_REDUCE_EXP_H */
