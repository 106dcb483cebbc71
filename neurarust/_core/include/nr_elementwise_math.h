/* Branch-free exp / expm1 / log / log1p / tanh / sigmoid for float and double.
 *
 * libm's versions are scalar calls, which stop gcc from vectorizing a loop.
 * These are written with selects instead of branches and bit casts instead
 * of float->int conversions, so when they are inlined into a loop compiled
 * for AVX2 or AVX-512 the whole loop vectorizes.
 *
 * Method (all ours): exp reduces x = n*ln2 + r with |r| <= ln2/2 and sums
 * the Taylor series of e^r (float: to r^7, double: to r^13: truncation is
 * below 1/20 ulp); 2^n is applied as two halves so results that end up
 * subnormal or infinite are rounded once and correctly.  log splits
 * x = 2^e * m with m in [sqrt(1/2), sqrt(2)) and uses
 * log(m) = f - f^2/2 + s*(f^2/2 + R(s^2)), s = f/(2+f), f = m-1, where R is
 * the odd atanh series.  Measured errors against a float64/longdouble
 * reference: <= 2 ulp (see tests/_core/test_elementwise_kernels.py).
 * Specials follow IEEE/C99: NaN in -> NaN out, exp(+inf)=inf, exp(-inf)=0,
 * log(0)=-inf, log(<0)=NaN, log(inf)=inf.
 */
#ifndef NR_ELEMENTWISE_MATH_H
#define NR_ELEMENTWISE_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
/* Same options as the loops these helpers get inlined into (gcc refuses to
 * vectorize across differing optimize options). */
#pragma GCC optimize("no-trapping-math")
#endif

static inline uint32_t nr_f2u(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }
static inline float nr_u2f(uint32_t u) { float x; memcpy(&x, &u, 4); return x; }
static inline uint64_t nr_d2u(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }
static inline double nr_u2d(uint64_t u) { double x; memcpy(&x, &u, 8); return x; }

/* ln2 = HI + LO with HI short enough that n*HI is exact for every n used. */
#define NR_LN2F_HI 0.693115234375f
#define NR_LN2F_LO 3.194618329871446e-05f
#define NR_LN2_HI 0.6931467056274414
#define NR_LN2_LO 4.7493250390316726e-07
#define NR_LOG2E 1.4426950408889634
#define NR_LOG10E 0.4342944819032518
#define NR_LOG10_2 0.3010299956639812

/* ------------------------------------------------------------- float32 -- */

/* Rounds v to an integer n (|v| < 2^22); returns n as float, *n_int as int. */
static inline float nr__roundf_int(float v, int32_t *n_int)
{
    const float shifter = 12582912.0f; /* 1.5 * 2^23 */
    float t = v + shifter;
    *n_int = (int32_t)(nr_f2u(t) - nr_f2u(shifter));
    return t - shifter;
}

/* e^r - 1 for |r| <= ln2/2 (Taylor to r^8). */
static inline float nr__expm1_reducedf(float r)
{
    float p = 1.0f / 40320.0f;
    p = p * r + 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    return r + (r * r) * p;
}

static inline float nr_expf(float x)
{
    /* Past these bounds the result is already inf / 0; NaN fails both tests. */
    float xc = x > 100.0f ? 100.0f : x;
    xc = xc < -110.0f ? -110.0f : xc;
    int32_t n;
    float nf = nr__roundf_int(xc * (float)NR_LOG2E, &n);
    float r = (xc - nf * NR_LN2F_HI) - nf * NR_LN2F_LO;
    float p = 1.0f + nr__expm1_reducedf(r);
    int32_t n1 = n >> 1, n2 = n - n1;
    float s1 = nr_u2f((uint32_t)(n1 + 127) << 23);
    float s2 = nr_u2f((uint32_t)(n2 + 127) << 23);
    return (p * s1) * s2;
}

static inline float nr_expm1f(float x)
{
    /* Above 80, e^x - 1 == e^x in float; the clamp keeps 2^n a normal float. */
    float xc = x > 80.0f ? 80.0f : x;
    xc = xc < -30.0f ? -30.0f : xc;
    int32_t n;
    float nf = nr__roundf_int(xc * (float)NR_LOG2E, &n);
    float r = (xc - nf * NR_LN2F_HI) - nf * NR_LN2F_LO;
    float q = nr__expm1_reducedf(r);
    float scale = nr_u2f((uint32_t)(n + 127) << 23);
    float res = scale * q + (scale - 1.0f);
    return x > 80.0f ? nr_expf(x) : res;
}

enum { NR_LOG_E = 0, NR_LOG_2 = 1, NR_LOG_10 = 2 };

/* log of x > 0 finite (subnormals included) in base e, 2 or 10; specials are
 * patched by the caller.  The base is a constant after inlining. */
static inline float nr__log_positivef(float x, int base)
{
    /* Everything stays in 32-bit lanes (float selects, no bool->int
     * widening) or gcc gives up vectorizing loops that also call exp. */
    float tiny = x < 1.17549435e-38f ? 1.0f : 0.0f;
    /* Multiplies by selected constants (not selected products) so gcc can
     * if-convert without speculating a trapping FP operation. */
    float xs = x * (tiny != 0.0f ? 8388608.0f : 1.0f); /* 2^23 */
    uint32_t u = nr_f2u(xs);
    float ef = (float)(int32_t)(u >> 23) - 127.0f - 23.0f * tiny;
    float m = nr_u2f((u & 0x007fffffu) | 0x3f800000u);
    float big = m > 1.41421356f ? 1.0f : 0.0f;
    m = m * (1.0f - 0.5f * big);
    ef += big;
    float f = m - 1.0f;
    float s = f / (2.0f + f);
    float z = s * s;
    float R = 2.0f / 9.0f;
    R = R * z + 2.0f / 7.0f;
    R = R * z + 2.0f / 5.0f;
    R = R * z + 2.0f / 3.0f;
    R = R * z;
    float hfsq = 0.5f * f * f;
    float logm = f - hfsq + s * (hfsq + R);
    if (base == NR_LOG_2) return ef + logm * (float)NR_LOG2E;
    if (base == NR_LOG_10) return ef * (float)NR_LOG10_2 + logm * (float)NR_LOG10E;
    return ef * NR_LN2F_HI + (logm + ef * NR_LN2F_LO);
}

static inline float nr__log_specialsf(float x, float res)
{
    res = x == INFINITY ? x : res;
    res = x == 0.0f ? -INFINITY : res;
    res = x < 0.0f ? NAN : res;
    return x != x ? x : res;
}

static inline float nr_logf(float x) { return nr__log_specialsf(x, nr__log_positivef(x, NR_LOG_E)); }
static inline float nr_log2f(float x) { return nr__log_specialsf(x, nr__log_positivef(x, NR_LOG_2)); }
static inline float nr_log10f(float x) { return nr__log_specialsf(x, nr__log_positivef(x, NR_LOG_10)); }

static inline float nr_log1pf(float x)
{
    float u = 1.0f + x;
    /* u rounds x; the first-order correction (x - (u-1))/u restores the lost bits. */
    float c = (x - (u - 1.0f)) / u;
    /* Two plain selects: a combined mask trips gcc 12's mask conversion. */
    c = u > 0.0f ? c : 0.0f;
    c = u < INFINITY ? c : 0.0f;
    float res = nr__log_positivef(u, NR_LOG_E) + c;
    return nr__log_specialsf(u, res);
}

static inline float nr_tanhf(float x)
{
    /* tanh(10) rounds to 1 in float; the clamp avoids inf/inf. */
    float xc = x > 10.0f ? 10.0f : x;
    xc = xc < -10.0f ? -10.0f : xc;
    float t = nr_expm1f(2.0f * xc);
    return t / (t + 2.0f);
}

/* e = e^-|x| never overflows, and e/(1+e) keeps full relative accuracy for
 * very negative x, where 1/(1+e^-x) would hit inf and return 0. */
static inline float nr_sigmoidf(float x)
{
    float e = nr_expf(-fabsf(x));
    float r = 1.0f / (1.0f + e);
    return x >= 0.0f ? r : e * r;
}

/* ------------------------------------------------------------- float64 -- */

static inline double nr__round_int(double v, int64_t *n_int)
{
    const double shifter = 6755399441055744.0; /* 1.5 * 2^52 */
    double t = v + shifter;
    *n_int = (int64_t)(nr_d2u(t) - nr_d2u(shifter));
    return t - shifter;
}

/* e^r - 1 for |r| <= ln2/2 (Taylor to r^14). */
static inline double nr__expm1_reduced(double r)
{
    double p = 1.0 / 87178291200.0;   /* 1/14! */
    p = p * r + 1.0 / 6227020800.0;   /* 1/13! */
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
    return r + (r * r) * p;
}

/* 2^k for an integral double k with -1022 <= k <= 1023, built with a
 * logical shift only (AVX2 has no 64-bit arithmetic shift or int64->double
 * conversion, so integer-typed exponent math would block vectorization):
 * adding 2^52 + 1023 leaves k + 1023 in the low mantissa bits. */
static inline double nr__exp2_int(double k)
{
    return nr_u2d(nr_d2u(k + (1023.0 + 4503599627370496.0)) << 52);
}

static inline double nr_exp(double x)
{
    double xc = x > 720.0 ? 720.0 : x;
    xc = xc < -760.0 ? -760.0 : xc;
    int64_t unused;
    double nf = nr__round_int(xc * NR_LOG2E, &unused);
    double r = (xc - nf * NR_LN2_HI) - nf * NR_LN2_LO;
    double p = 1.0 + nr__expm1_reduced(r);
    double n1 = floor(0.5 * nf);
    return (p * nr__exp2_int(n1)) * nr__exp2_int(nf - n1);
}

static inline double nr_expm1(double x)
{
    double xc = x > 700.0 ? 700.0 : x;
    xc = xc < -60.0 ? -60.0 : xc;
    int64_t unused;
    double nf = nr__round_int(xc * NR_LOG2E, &unused);
    double r = (xc - nf * NR_LN2_HI) - nf * NR_LN2_LO;
    double q = nr__expm1_reduced(r);
    double scale = nr__exp2_int(nf);
    double res = scale * q + (scale - 1.0);
    return x > 700.0 ? nr_exp(x) : res;
}

static inline double nr__log_positive(double x, int base)
{
    double tiny = x < 2.2250738585072014e-308 ? 1.0 : 0.0;
    double xs = x * (tiny != 0.0 ? 4503599627370496.0 : 1.0); /* 2^52 */
    uint64_t u = nr_d2u(xs);
    /* Biased exponent as a double via the 2^52 trick (no int64->double). */
    double ed = nr_u2d((u >> 52) | 0x4330000000000000ull) - 4503599627370496.0
                - 1023.0 - 52.0 * tiny;
    double m = nr_u2d((u & 0x000fffffffffffffull) | 0x3ff0000000000000ull);
    double big = m > 1.4142135623730951 ? 1.0 : 0.0;
    m = m * (1.0 - 0.5 * big);
    ed += big;
    double f = m - 1.0;
    double s = f / (2.0 + f);
    double z = s * s;
    double R = 2.0 / 25.0;
    R = R * z + 2.0 / 23.0;
    R = R * z + 2.0 / 21.0;
    R = R * z + 2.0 / 19.0;
    R = R * z + 2.0 / 17.0;
    R = R * z + 2.0 / 15.0;
    R = R * z + 2.0 / 13.0;
    R = R * z + 2.0 / 11.0;
    R = R * z + 2.0 / 9.0;
    R = R * z + 2.0 / 7.0;
    R = R * z + 2.0 / 5.0;
    R = R * z + 2.0 / 3.0;
    R = R * z;
    double hfsq = 0.5 * f * f;
    double logm = f - hfsq + s * (hfsq + R);
    if (base == NR_LOG_2) return ed + logm * NR_LOG2E;
    if (base == NR_LOG_10) return ed * NR_LOG10_2 + logm * NR_LOG10E;
    return ed * NR_LN2_HI + (logm + ed * NR_LN2_LO);
}

static inline double nr__log_specials(double x, double res)
{
    res = x == INFINITY ? x : res;
    res = x == 0.0 ? -INFINITY : res;
    res = x < 0.0 ? NAN : res;
    return x != x ? x : res;
}

static inline double nr_log(double x) { return nr__log_specials(x, nr__log_positive(x, NR_LOG_E)); }
static inline double nr_log2(double x) { return nr__log_specials(x, nr__log_positive(x, NR_LOG_2)); }
static inline double nr_log10(double x) { return nr__log_specials(x, nr__log_positive(x, NR_LOG_10)); }

static inline double nr_log1p(double x)
{
    double u = 1.0 + x;
    double c = (x - (u - 1.0)) / u;
    c = u > 0.0 ? c : 0.0;
    c = u < INFINITY ? c : 0.0;
    return nr__log_specials(u, nr__log_positive(u, NR_LOG_E) + c);
}

static inline double nr_tanh(double x)
{
    double xc = x > 20.0 ? 20.0 : x;
    xc = xc < -20.0 ? -20.0 : xc;
    double t = nr_expm1(2.0 * xc);
    return t / (t + 2.0);
}

static inline double nr_sigmoid(double x)
{
    double e = nr_exp(-fabs(x));
    double r = 1.0 / (1.0 + e);
    return x >= 0.0 ? r : e * r;
}

/* float32 erf, evaluated in double.  |x| <= 1: the Maclaurin series
 * 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1)) to n = 12 (next term
 * < 1e-10).  1 < |x| < 4: 1 - exp(-x^2) * erfcx(|x|), with erfcx fitted by
 * us (Chebyshev least squares, degree 12, in u = (|x| - 2.5) / 1.5; max
 * error in erf 6e-10).  |x| >= 4 rounds to +-1 in float. */
static inline float nr_erff(float xf)
{
    double x = xf, a = fabs(x);
    double xs = a <= 1.0 ? x : 0.0; /* keeps the unused branch finite */
    double z = xs * xs;
    double s = 8.35070279514724e-11;
    s = s * z - 1.0892221037148573e-09;
    s = s * z + 1.3122532963802806e-08;
    s = s * z - 1.4503852223150468e-07;
    s = s * z + 1.4589169000933706e-06;
    s = s * z - 1.3227513227513228e-05;
    s = s * z + 0.00010683760683760684;
    s = s * z - 0.0007575757575757576;
    s = s * z + 0.004629629629629629;
    s = s * z - 0.023809523809523808;
    s = s * z + 0.1;
    s = s * z - 0.3333333333333333;
    s = s * z + 1.0;
    double small = 1.1283791670955126 * xs * s; /* 2/sqrt(pi) */
    double t = a < 1.0 ? 1.0 : (a > 4.0 ? 4.0 : a);
    double u = (t - 2.5) * (1.0 / 1.5);
    double q = 1.381908900747569e-05;
    q = q * u - 3.692872355785586e-05;
    q = q * u + 5.494724821079305e-05;
    q = q * u - 0.00014394859791926084;
    q = q * u + 0.00041450809784028547;
    q = q * u - 0.0010171177742915446;
    q = q * u + 0.0024017016954700965;
    q = q * u - 0.005567332909528868;
    q = q * u + 0.01248970367146902;
    q = q * u - 0.02700572528974087;
    q = q * u + 0.05611047258428521;
    q = q * u - 0.11152100469538166;
    q = q * u + 0.2108063642759413;
    double large = copysign(1.0 - nr_exp(-t * t) * q, x);
    double res = a <= 1.0 ? small : large;
    res = a >= 4.0 ? copysign(1.0, x) : res;
    return (float)(x != x ? x : res);
}

/* float32 sin / cos / tan, evaluated in double for |x| <= NR_TRIG_LIMIT
 * (callers send larger or non-finite |x| to libm).  x = n*pi/2 + r with
 * pi/2 split in three parts (33 + 33 + 53 bits) so n*P1 and n*P2 are exact
 * for n < 2^20; then Taylor series of sin/cos on |r| <= pi/4 (truncation
 * < 1e-10 relative) and the quadrant n mod 4 picks sign and function. */
#define NR_TRIG_LIMIT 1.0e6f
#define NR_PIO2_1 1.5707963267341256
#define NR_PIO2_2 6.077100506303966e-11
#define NR_PIO2_3 2.0222662487959506e-21
enum { NR_TRIG_SIN = 0, NR_TRIG_COS = 1, NR_TRIG_TAN = 2 };

static inline float nr__trigf(float xf, int which)
{
    double x = xf;
    const double shifter = 6755399441055744.0; /* 1.5 * 2^52 */
    double t = x * 0.6366197723675814 + shifter;
    double nf = t - shifter;
    double quadrant = (double)(nr_d2u(t) & 3u); /* n mod 4, from the mantissa */
    double r = ((x - nf * NR_PIO2_1) - nf * NR_PIO2_2) - nf * NR_PIO2_3;
    double z = r * r;
    double sp = -1.0 / 39916800.0;
    sp = sp * z + 1.0 / 362880.0;
    sp = sp * z - 1.0 / 5040.0;
    sp = sp * z + 1.0 / 120.0;
    sp = sp * z - 1.0 / 6.0;
    double sin_r = r * (1.0 + z * sp); /* a product keeps sin(-0) == -0 */
    double cp = -1.0 / 3628800.0;
    cp = cp * z + 1.0 / 40320.0;
    cp = cp * z - 1.0 / 720.0;
    cp = cp * z + 1.0 / 24.0;
    double cos_r = 1.0 - 0.5 * z + z * z * cp;
    if (which == NR_TRIG_TAN) {
        double odd = (quadrant == 1.0 || quadrant == 3.0) ? 1.0 : 0.0;
        return (float)(odd != 0.0 ? -cos_r / sin_r : sin_r / cos_r);
    }
    double k = which == NR_TRIG_COS ? quadrant + 1.0 : quadrant;
    k = k >= 4.0 ? k - 4.0 : k;
    double v = (k == 1.0 || k == 3.0) ? cos_r : sin_r;
    return (float)(k >= 2.0 ? -v : v);
}

static inline float nr_sinf(float x) { return nr__trigf(x, NR_TRIG_SIN); }
static inline float nr_cosf(float x) { return nr__trigf(x, NR_TRIG_COS); }
static inline float nr_tanf(float x) { return nr__trigf(x, NR_TRIG_TAN); }

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

#endif /* NR_ELEMENTWISE_MATH_H */
