/* where / clamp / lerp / nan_to_num inner loops.
 *
 * Operand order: where (out, cond, a, b); clamp (out, a, lo[, hi]);
 * lerp (out, start, end, weight); nan_to_num (out, a).
 */
#ifndef NR_ELEMENTWISE_SELECT_H
#define NR_ELEMENTWISE_SELECT_H

#include "nr_strided.h"
#include "nr_elementwise_dtypes.h"
#include "nr_elementwise_binary.h" /* NR_BINARY_LOOP */

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("no-trapping-math")
#endif

/* where only moves bits, so one loop per item size serves every dtype. */
#define NR_WHERE_LOOP(NAME, T)                                                           \
    NR_SIMD_CLONES static void NAME(char **data, const npy_intp *st, npy_intp n,         \
                                    const void *ctx)                                     \
    {                                                                                    \
        (void)ctx;                                                                       \
        const npy_intp so = st[0], sc = st[1], sa = st[2], sb = st[3];                   \
        if (so == (npy_intp)sizeof(T) && sc == 1) {                                      \
            T *o = (T *)data[0];                                                         \
            const nr_bool_t *c = (const nr_bool_t *)data[1];                             \
            if (sa == (npy_intp)sizeof(T) && sb == (npy_intp)sizeof(T)) {                \
                const T *A = (const T *)data[2], *B = (const T *)data[3];                \
                NR_IVDEP for (npy_intp i = 0; i < n; i++) o[i] = c[i] ? A[i] : B[i];     \
                return;                                                                  \
            }                                                                            \
            if (sa == (npy_intp)sizeof(T) && sb == 0) {                                  \
                const T *A = (const T *)data[2];                                         \
                const T y = *(const T *)data[3];                                         \
                NR_IVDEP for (npy_intp i = 0; i < n; i++) o[i] = c[i] ? A[i] : y;        \
                return;                                                                  \
            }                                                                            \
            if (sa == 0 && sb == (npy_intp)sizeof(T)) {                                  \
                const T x = *(const T *)data[2];                                         \
                const T *B = (const T *)data[3];                                         \
                NR_IVDEP for (npy_intp i = 0; i < n; i++) o[i] = c[i] ? x : B[i];        \
                return;                                                                  \
            }                                                                            \
        }                                                                                \
        for (npy_intp i = 0; i < n; i++) {                                               \
            const char *src = *(const nr_bool_t *)(data[1] + i * sc)                     \
                                  ? data[2] + i * sa : data[3] + i * sb;                 \
            *(T *)(data[0] + i * so) = *(const T *)src;                                  \
        }                                                                                \
    }

NR_WHERE_LOOP(nr_where_1, uint8_t)
NR_WHERE_LOOP(nr_where_2, uint16_t)
NR_WHERE_LOOP(nr_where_4, uint32_t)
NR_WHERE_LOOP(nr_where_8, uint64_t)

static inline nr_inner_loop nr_where_loop(int itemsize)
{
    return itemsize == 1 ? nr_where_1 : itemsize == 2 ? nr_where_2
         : itemsize == 4 ? nr_where_4 : itemsize == 8 ? nr_where_8 : NULL;
}

/* clamp = min(max(a, lo), hi) with NaN in any operand propagating (floats);
 * lo > hi gives hi, like torch. */
#define NR_MAXP(x, y) ((x) != (x) ? (x) : ((y) != (y) ? (y) : ((x) < (y) ? (y) : (x))))
#define NR_MINP(x, y) ((x) != (x) ? (x) : ((y) != (y) ? (y) : ((x) > (y) ? (y) : (x))))

#define NR_CLAMP_LOOPS(SFX, T)                                                           \
    NR_BINARY_LOOP(nr_clamp_lo_##SFX, T, T, NR_MAXP(x, y))                               \
    NR_BINARY_LOOP(nr_clamp_hi_##SFX, T, T, NR_MINP(x, y))                               \
    NR_SIMD_CLONES static void nr_clamp_both_##SFX(char **data, const npy_intp *st,      \
                                                   npy_intp n, const void *ctx)          \
    {                                                                                    \
        (void)ctx;                                                                       \
        const npy_intp so = st[0], sa = st[1], sl = st[2], sh = st[3];                   \
        const npy_intp size = (npy_intp)sizeof(T);                                       \
        if (so == size && sa == size && sl == 0 && sh == 0) {                           \
            /* The common clamp(x, scalar, scalar): NaN bounds are settled once,     \
             * then two compares per element (a NaN x fails both and stays). */         \
            T *o = (T *)data[0];                                                         \
            const T *A = (const T *)data[1];                                             \
            const T lo = *(const T *)data[2], hi = *(const T *)data[3];                  \
            if (lo != lo || hi != hi) {                                                  \
                const T nan_bound = lo != lo ? lo : hi;                                  \
                for (npy_intp i = 0; i < n; i++) o[i] = A[i] != A[i] ? A[i] : nan_bound; \
                return;                                                                  \
            }                                                                            \
            NR_IVDEP for (npy_intp i = 0; i < n; i++) {                                  \
                T x = A[i];                                                              \
                T r = x < lo ? lo : x;                                                   \
                o[i] = r > hi ? hi : r;                                                  \
            }                                                                            \
            return;                                                                      \
        }                                                                                \
        if (so == size && sa == size && sl == size && sh == size) {                     \
            T *o = (T *)data[0];                                                         \
            const T *A = (const T *)data[1], *L = (const T *)data[2], *H = (const T *)data[3]; \
            NR_IVDEP for (npy_intp i = 0; i < n; i++) {                                  \
                T x = A[i], lo = L[i], hi = H[i];                                        \
                T r = NR_MAXP(x, lo);                                                    \
                o[i] = NR_MINP(r, hi);                                                   \
            }                                                                            \
            return;                                                                      \
        }                                                                                \
        for (npy_intp i = 0; i < n; i++) {                                               \
            T x = *(const T *)(data[1] + i * sa);                                        \
            T lo = *(const T *)(data[2] + i * sl), hi = *(const T *)(data[3] + i * sh);  \
            T r = NR_MAXP(x, lo);                                                        \
            *(T *)(data[0] + i * so) = NR_MINP(r, hi);                                   \
        }                                                                                \
    }

NR_CLAMP_LOOPS(bool, nr_bool_t)
NR_CLAMP_LOOPS(int8, int8_t)
NR_CLAMP_LOOPS(uint8, uint8_t)
NR_CLAMP_LOOPS(int16, int16_t)
NR_CLAMP_LOOPS(int32, int32_t)
NR_CLAMP_LOOPS(int64, int64_t)
NR_CLAMP_LOOPS(float32, float)
NR_CLAMP_LOOPS(float64, double)

#define NR_CLAMP_ROW(kind) { nr_clamp_##kind##_bool, nr_clamp_##kind##_int8,              \
    nr_clamp_##kind##_uint8, nr_clamp_##kind##_int16, nr_clamp_##kind##_int32,           \
    nr_clamp_##kind##_int64, nr_clamp_##kind##_float32, nr_clamp_##kind##_float64 }

/* [0]: lo only, [1]: hi only, [2]: both. */
static nr_inner_loop const nr_clamp_loops[3][NR_NUMERIC_DTYPES] = {
    NR_CLAMP_ROW(lo), NR_CLAMP_ROW(hi), NR_CLAMP_ROW(both),
};

/* torch's lerp: the formula switches at weight 0.5 so both ends are exact. */
#define NR_LERP_FORMULA(T, s, e, w)                                                      \
    (((w) < 0 ? -(w) : (w)) < (T)0.5 ? (s) + (w) * ((e) - (s)) : (e) - ((e) - (s)) * ((T)1 - (w)))
#define NR_LERP_LOOP(SFX, T)                                                             \
    NR_SIMD_CLONES static void nr_lerp_##SFX(char **data, const npy_intp *st, npy_intp n, \
                                             const void *ctx)                            \
    {                                                                                    \
        (void)ctx;                                                                       \
        const npy_intp size = (npy_intp)sizeof(T);                                       \
        if (st[0] == size && st[1] == size && st[2] == size && (st[3] == size || st[3] == 0)) { \
            T *o = (T *)data[0];                                                         \
            const T *S = (const T *)data[1], *E = (const T *)data[2], *W = (const T *)data[3]; \
            const npy_intp step = st[3] ? 1 : 0;                                         \
            NR_IVDEP for (npy_intp i = 0; i < n; i++) {                                  \
                T s = S[i], e = E[i], w = W[i * step];                                   \
                o[i] = NR_LERP_FORMULA(T, s, e, w);                                      \
            }                                                                            \
            return;                                                                      \
        }                                                                                \
        for (npy_intp i = 0; i < n; i++) {                                               \
            T s = *(const T *)(data[1] + i * st[1]);                                     \
            T e = *(const T *)(data[2] + i * st[2]);                                     \
            T w = *(const T *)(data[3] + i * st[3]);                                     \
            *(T *)(data[0] + i * st[0]) = NR_LERP_FORMULA(T, s, e, w);                   \
        }                                                                                \
    }
NR_LERP_LOOP(float32, float)
NR_LERP_LOOP(float64, double)

typedef struct { double nan, posinf, neginf; } nr_nan_to_num_params;

#define NR_NAN_TO_NUM_LOOP(SFX, T)                                                       \
    NR_SIMD_CLONES static void nr_nan_to_num_##SFX(char **data, const npy_intp *st,      \
                                                   npy_intp n, const void *ctx)          \
    {                                                                                    \
        const nr_nan_to_num_params *p = (const nr_nan_to_num_params *)ctx;               \
        const T vnan = (T)p->nan, vpos = (T)p->posinf, vneg = (T)p->neginf;              \
        const npy_intp size = (npy_intp)sizeof(T);                                       \
        if (st[0] == size && st[1] == size) {                                            \
            T *o = (T *)data[0];                                                         \
            const T *A = (const T *)data[1];                                             \
            NR_IVDEP for (npy_intp i = 0; i < n; i++) {                                  \
                T x = A[i];                                                              \
                T r = x != x ? vnan : x;                                                 \
                r = x == (T)INFINITY ? vpos : r;                                         \
                o[i] = x == -(T)INFINITY ? vneg : r;                                     \
            }                                                                            \
            return;                                                                      \
        }                                                                                \
        for (npy_intp i = 0; i < n; i++) {                                               \
            T x = *(const T *)(data[1] + i * st[1]);                                     \
            T r = x != x ? vnan : x;                                                     \
            r = x == (T)INFINITY ? vpos : r;                                             \
            *(T *)(data[0] + i * st[0]) = x == -(T)INFINITY ? vneg : r;                  \
        }                                                                                \
    }
NR_NAN_TO_NUM_LOOP(float32, float)
NR_NAN_TO_NUM_LOOP(float64, double)

#undef NR_MAXP
#undef NR_MINP
#undef NR_LERP_FORMULA
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

#endif /* NR_ELEMENTWISE_SELECT_H */
