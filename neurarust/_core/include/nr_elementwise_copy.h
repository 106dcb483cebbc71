/* copy / cast inner loops: operands (dst, src).
 *
 * Same dtype: raw moves per item size (bit exact, memcpy when contiguous).
 * Different dtypes: one loop per (src, dst) pair, generated below.
 * Conversion rules: anything -> bool is != 0; bool -> anything is 0/1;
 * float -> int truncates toward zero, NaN -> 0 and out-of-range values
 * saturate (to int32 for the narrow types, then wrap like a C cast);
 * -> float16 rounds to nearest even.
 */
#ifndef NR_ELEMENTWISE_COPY_H
#define NR_ELEMENTWISE_COPY_H

#include "nr_strided.h"
#include "nr_elementwise_dtypes.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("no-trapping-math")
#endif

#define NR_MOVE_LOOP(NAME, T)                                                            \
    NR_SIMD_CLONES static void NAME(char **data, const npy_intp *st, npy_intp n,         \
                                    const void *ctx)                                     \
    {                                                                                    \
        char *po = data[0];                                                              \
        const char *pa = data[1];                                                        \
        const npy_intp so = st[0], sa = st[1];                                           \
        (void)ctx;                                                                       \
        if (so == (npy_intp)sizeof(T) && sa == (npy_intp)sizeof(T)) {                   \
            if (po != pa) memcpy(po, pa, (size_t)n * sizeof(T));                         \
            return;                                                                      \
        }                                                                                \
        if (so == (npy_intp)sizeof(T) && sa == 0) {                                      \
            T *o = (T *)po;                                                              \
            const T v = *(const T *)pa;                                                  \
            for (npy_intp i = 0; i < n; i++) o[i] = v;                                   \
            return;                                                                      \
        }                                                                                \
        if (so == (npy_intp)sizeof(T)) {                                                 \
            /* Gathering reads (transposed source inside a tile). */                     \
            T *o = (T *)po;                                                              \
            NR_IVDEP for (npy_intp i = 0; i < n; i++) o[i] = *(const T *)(pa + i * sa);  \
            return;                                                                      \
        }                                                                                \
        for (npy_intp i = 0; i < n; i++) *(T *)(po + i * so) = *(const T *)(pa + i * sa); \
    }

NR_MOVE_LOOP(nr_move_1, uint8_t)
NR_MOVE_LOOP(nr_move_2, uint16_t)
NR_MOVE_LOOP(nr_move_4, uint32_t)
NR_MOVE_LOOP(nr_move_8, uint64_t)

static inline nr_inner_loop nr_move_loop(int itemsize)
{
    return itemsize == 1 ? nr_move_1 : itemsize == 2 ? nr_move_2
         : itemsize == 4 ? nr_move_4 : itemsize == 8 ? nr_move_8 : NULL;
}

#define NR_CAST_LOOP(NAME, TS, TD, EXPR)                                                 \
    NR_SIMD_CLONES static void NAME(char **data, const npy_intp *st, npy_intp n,         \
                                    const void *ctx)                                     \
    {                                                                                    \
        (void)ctx;                                                                       \
        if (st[0] == (npy_intp)sizeof(TD) && st[1] == (npy_intp)sizeof(TS)) {            \
            TD *o = (TD *)data[0];                                                       \
            const TS *A = (const TS *)data[1];                                           \
            NR_IVDEP for (npy_intp i = 0; i < n; i++) {                                  \
                TS x = A[i];                                                             \
                o[i] = (TD)(EXPR);                                                       \
            }                                                                            \
            return;                                                                      \
        }                                                                                \
        for (npy_intp i = 0; i < n; i++) {                                               \
            TS x = *(const TS *)(data[1] + i * st[1]);                                   \
            *(TD *)(data[0] + i * st[0]) = (TD)(EXPR);                                   \
        }                                                                                \
    }

/* Conversion of x (source kind) to TD (destination kind).  Kinds: B bool,
 * I integer, F float32, D float64, H float16 bits. */
#define NR_CONV_KB_KB(x, TD) (x != 0)
#define NR_CONV_KB_KI(x, TD) (x != 0)
#define NR_CONV_KB_KF(x, TD) (x != 0)
#define NR_CONV_KB_KD(x, TD) (x != 0)
#define NR_CONV_KB_KH(x, TD) (x != 0 ? 0x3c00u : 0u)
#define NR_CONV_KI_KB(x, TD) (x != 0)
#define NR_CONV_KI_KI(x, TD) (x)
#define NR_CONV_KI_KF(x, TD) (x)
#define NR_CONV_KI_KD(x, TD) (x)
#define NR_CONV_KI_KH(x, TD) nr_float_to_half((float)x) /* exact below 65520, inf above */
#define NR_CONV_KF_KB(x, TD) (x != 0)
#define NR_CONV_KF_KI(x, TD) (sizeof(TD) == 8 ? nr_double_to_int64((double)x) : (int64_t)nr_float_to_int32(x))
#define NR_CONV_KF_KF(x, TD) (x)
#define NR_CONV_KF_KD(x, TD) (x)
#define NR_CONV_KF_KH(x, TD) nr_float_to_half(x)
#define NR_CONV_KD_KB(x, TD) (x != 0)
#define NR_CONV_KD_KI(x, TD) nr_double_to_int64(x)
#define NR_CONV_KD_KF(x, TD) (x)
#define NR_CONV_KD_KD(x, TD) (x)
#define NR_CONV_KD_KH(x, TD) nr_double_to_half(x)
#define NR_CONV_KH_KB(x, TD) ((x & 0x7fffu) != 0)
#define NR_CONV_KH_KI(x, TD) nr_float_to_int32(nr_half_to_float(x))
#define NR_CONV_KH_KF(x, TD) nr_half_to_float(x)
#define NR_CONV_KH_KD(x, TD) nr_half_to_float(x)
#define NR_CONV_KH_KH(x, TD) (x)

/* Order matches enum nr_dtype. */
/* Arguments pass through several macro levels and get expanded, so no
 * name may be a macro (`bool` and `I` are, via stdbool.h / complex.h). */
#define NR_DTYPES_A(X, ...) X(boolean, nr_bool_t, KB, __VA_ARGS__)                       \
    X(int8, int8_t, KI, __VA_ARGS__) X(uint8, uint8_t, KI, __VA_ARGS__)                  \
    X(int16, int16_t, KI, __VA_ARGS__) X(int32, int32_t, KI, __VA_ARGS__)                \
    X(int64, int64_t, KI, __VA_ARGS__) X(float32, float, KF, __VA_ARGS__)                \
    X(float64, double, KD, __VA_ARGS__) X(float16, nr_half_t, KH, __VA_ARGS__)
#define NR_DTYPES_B(X) X(boolean, nr_bool_t, KB) X(int8, int8_t, KI) X(uint8, uint8_t, KI) \
    X(int16, int16_t, KI) X(int32, int32_t, KI) X(int64, int64_t, KI)                    \
    X(float32, float, KF) X(float64, double, KD) X(float16, nr_half_t, KH)

#define NR_CAST_PAIR(D, TD, DK, S, TS, SK)                                               \
    NR_CAST_LOOP(nr_cast_##S##_to_##D, TS, TD, NR_CONV_##SK##_##DK(x, TD))
#define NR_CAST_FROM(S, TS, SK) NR_DTYPES_A(NR_CAST_PAIR, S, TS, SK)
NR_DTYPES_B(NR_CAST_FROM)

#define NR_CAST_NAME(D, TD, DK, S) nr_cast_##S##_to_##D,
#define NR_CAST_ROW(S, TS, SK) { NR_DTYPES_A(NR_CAST_NAME, S) },
/* nr_cast_loops[src][dst] */
static nr_inner_loop const nr_cast_loops[NR_NDTYPES][NR_NDTYPES] = { NR_DTYPES_B(NR_CAST_ROW) };

#undef NR_CAST_NAME
#undef NR_CAST_ROW
#undef NR_CAST_PAIR
#undef NR_CAST_FROM
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

#endif /* NR_ELEMENTWISE_COPY_H */
