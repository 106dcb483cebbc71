/* The one strided iterator behind every NeuraRust CPU kernel.
 *
 * A kernel describes its operands (data pointer, byte strides already
 * broadcast to the output shape, item size) and supplies a 1-D inner loop.
 * The iterator
 *   1. drops size-1 dims, flips dims the output walks backwards,
 *   2. orders dims so the output's smallest stride is innermost,
 *   3. merges dims that are contiguous with respect to each other for every
 *      operand (a contiguous tensor becomes 1-D, a column slice 2-D),
 *   4. tiles the two dims that operands disagree on (out = a.T + b) in
 *      64x64 (32x32 for 8-byte items) tiles; an input strided along the
 *      inner dim is first gathered into a small per-thread buffer, so every
 *      inner loop still gets its contiguous fast path,
 *   5. splits the work across OpenMP threads when it is big enough.
 * Elementwise kernels are order independent, so 1-4 never change results and
 * neither does the thread count: every element is computed exactly once by
 * the same inner loop.  Operand 0 is the output by convention.
 *
 * Safety rule: an output that partially overlaps an input (not the very same
 * layout) must be resolved by the caller (copy the input first); see
 * nr_operands_conflict().
 */
#ifndef NR_STRIDED_H
#define NR_STRIDED_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <numpy/npy_common.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#define NR_MAX_DIMS 64
#define NR_MAX_OPERANDS 8

/* Multiversioned hot loops: AVX-512 and AVX2+FMA clones chosen at load time
 * (the x86-64-v3/v4 level names need gcc >= 12; older compilers get the
 * baseline loops only).  Loops with selects or FP helpers vectorize only
 * under -fno-trapping-math: wrap the loops AND every inline helper they
 * call in `#pragma GCC push_options / optimize("no-trapping-math")`
 * (gcc 12 will not vectorize across differing optimize options; see
 * nr_elementwise_math.h).  libm sqrt never vectorizes with errno on. */
#if defined(__GNUC__) && __GNUC__ >= 12 && defined(__x86_64__) && !defined(__clang__) \
    && !defined(NR_NO_CLONES)
#define NR_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define NR_HAVE_CLONES 1
#else
#define NR_SIMD_CLONES
#define NR_HAVE_CLONES 0
#endif

/* Our inner loops only ever see an output that is either disjoint from the
 * inputs or the exact same elements (in-place), so there is no loop-carried
 * dependency and the vectorizer need not version the loop for aliasing. */
#if defined(__GNUC__) && !defined(__clang__)
#define NR_IVDEP _Pragma("GCC ivdep")
#else
#define NR_IVDEP
#endif

/* data[k] points at the first element of operand k for this run of n
 * elements; strides[k] is operand k's byte stride along the run. */
typedef void (*nr_inner_loop)(char **data, const npy_intp *strides, npy_intp n,
                              const void *ctx);

typedef struct {
    int nop;
    int ndim;
    npy_intp shape[NR_MAX_DIMS];
    /* Dim-major so one dim's strides can be handed to an inner loop as is. */
    npy_intp strides[NR_MAX_DIMS][NR_MAX_OPERANDS];
    char *data[NR_MAX_OPERANDS];
    int itemsize[NR_MAX_OPERANDS];
    int empty;
    /* Set by nr_iter_simplify(): tile the innermost two dims. */
    int tiled;
} nr_iter;

/* ---------------------------------------------------------------- setup -- */

static inline void nr_iter_init(nr_iter *it, int nop, int ndim, const npy_intp *shape)
{
    it->nop = nop;
    it->ndim = ndim;
    it->empty = 0;
    it->tiled = 0;
    for (int d = 0; d < ndim; d++) {
        it->shape[d] = shape[d];
        if (shape[d] == 0) it->empty = 1;
    }
}

/* Computes operand `op`'s strides broadcast (numpy rules, right aligned) to
 * the iterator shape.  Returns -1 when the shapes are incompatible. */
static inline int nr_iter_set_operand(nr_iter *it, int op, char *data, int itemsize,
                                      int ndim, const npy_intp *shape,
                                      const npy_intp *strides)
{
    int lead = it->ndim - ndim;
    if (lead < 0) return -1;
    it->data[op] = data;
    it->itemsize[op] = itemsize;
    for (int d = 0; d < lead; d++) it->strides[d][op] = 0;
    for (int d = 0; d < ndim; d++) {
        npy_intp want = it->shape[lead + d];
        if (shape[d] == want) {
            it->strides[lead + d][op] = want == 1 ? 0 : strides[d];
        } else if (shape[d] == 1) {
            it->strides[lead + d][op] = 0;
        } else {
            return -1;
        }
    }
    return 0;
}

static inline npy_intp nr_iter_size(const nr_iter *it)
{
    if (it->empty) return 0;
    npy_intp n = 1;
    for (int d = 0; d < it->ndim; d++) n *= it->shape[d];
    return n;
}

static inline void nr__swap_dims(nr_iter *it, int i, int j)
{
    npy_intp t = it->shape[i];
    it->shape[i] = it->shape[j];
    it->shape[j] = t;
    for (int k = 0; k < it->nop; k++) {
        npy_intp s = it->strides[i][k];
        it->strides[i][k] = it->strides[j][k];
        it->strides[j][k] = s;
    }
}

static inline npy_intp nr__abs(npy_intp x) { return x < 0 ? -x : x; }

/* 1 when dim i should be iterated inside dim j: the first operand for which
 * both dims carry information (non-zero stride) decides. */
static inline int nr__dim_is_inner(const nr_iter *it, int i, int j)
{
    for (int k = 0; k < it->nop; k++) {
        npy_intp si = nr__abs(it->strides[i][k]), sj = nr__abs(it->strides[j][k]);
        if (si == 0 || sj == 0) continue;
        if (si != sj) return si < sj;
    }
    return 0;
}

/* Moves dim `from` to position `to`, shifting the dims in between. */
static inline void nr__move_dim(nr_iter *it, int from, int to)
{
    while (from < to) { nr__swap_dims(it, from, from + 1); from++; }
    while (from > to) { nr__swap_dims(it, from, from - 1); from--; }
}

static inline void nr_iter_simplify(nr_iter *it)
{
    int nop = it->nop, nd = 0;
    it->tiled = 0;
    if (it->empty) { it->ndim = 0; return; }
    for (int d = 0; d < it->ndim; d++) {
        if (it->shape[d] == 1) continue;
        it->shape[nd] = it->shape[d];
        for (int k = 0; k < nop; k++) it->strides[nd][k] = it->strides[d][k];
        nd++;
    }
    it->ndim = nd;
    /* Walking a reversed output forwards lets the fast paths apply. */
    for (int d = 0; d < nd; d++) {
        if (it->strides[d][0] >= 0) continue;
        for (int k = 0; k < nop; k++) {
            it->data[k] += (it->shape[d] - 1) * it->strides[d][k];
            it->strides[d][k] = -it->strides[d][k];
        }
    }
    /* Stable insertion sort: smallest output stride innermost (last). */
    for (int i = 1; i < nd; i++) {
        for (int j = i; j > 0 && nr__dim_is_inner(it, j - 1, j); j--) nr__swap_dims(it, j - 1, j);
    }
    /* Merge an outer dim into the next inner one when every operand steps
     * over the inner dim exactly once per outer step. */
    int out = nd - 1;
    for (int d = nd - 2; d >= 0 && nd > 0; d--) {
        int mergeable = 1;
        for (int k = 0; k < nop; k++) {
            if (it->strides[d][k] != it->strides[out][k] * it->shape[out]) { mergeable = 0; break; }
        }
        if (mergeable) {
            it->shape[out] *= it->shape[d];
        } else {
            out--;
            it->shape[out] = it->shape[d];
            for (int k = 0; k < nop; k++) it->strides[out][k] = it->strides[d][k];
        }
    }
    if (nd > 0 && out > 0) {
        int kept = nd - out;
        for (int d = 0; d < kept; d++) {
            it->shape[d] = it->shape[out + d];
            for (int k = 0; k < nop; k++) it->strides[d][k] = it->strides[out + d][k];
        }
        nd = kept;
    }
    it->ndim = nd;
    if (nd < 2) return;
    /* An input whose fastest dim is not the innermost one reads across
     * cache lines: tile that dim together with the innermost one. */
    for (int k = 1; k < nop; k++) {
        npy_intp inner = nr__abs(it->strides[nd - 1][k]);
        if (inner <= it->itemsize[k]) continue;
        int best = -1;
        npy_intp best_stride = inner;
        for (int d = 0; d < nd - 1; d++) {
            npy_intp s = nr__abs(it->strides[d][k]);
            if (s != 0 && s < best_stride) { best = d; best_stride = s; }
        }
        if (best >= 0) {
            nr__move_dim(it, best, nd - 2);
            it->tiled = 1;
            return;
        }
    }
}

/* ------------------------------------------------------------ execution -- */

/* Tile edge in elements: 64 x 64 4-byte elements = 16 KiB per operand. */
static inline npy_intp nr__tile_edge(const nr_iter *it)
{
    int widest = 1;
    for (int k = 0; k < it->nop; k++) if (it->itemsize[k] > widest) widest = it->itemsize[k];
    return widest >= 8 ? 32 : 64;
}

/* Pointers to the start of outer position `index` (row-major over the first
 * `nouter` dims). */
static inline void nr__unravel(const nr_iter *it, int nouter, npy_intp index,
                               npy_intp *counter, char **ptrs)
{
    for (int k = 0; k < it->nop; k++) ptrs[k] = it->data[k];
    for (int d = nouter - 1; d >= 0; d--) {
        npy_intp i = index % it->shape[d];
        index /= it->shape[d];
        counter[d] = i;
        for (int k = 0; k < it->nop; k++) ptrs[k] += i * it->strides[d][k];
    }
}

/* Advances an odometer over the first `nouter` dims. */
static inline void nr__next_outer(const nr_iter *it, int nouter, npy_intp *counter, char **ptrs)
{
    for (int d = nouter - 1; d >= 0; d--) {
        for (int k = 0; k < it->nop; k++) ptrs[k] += it->strides[d][k];
        if (++counter[d] < it->shape[d]) return;
        for (int k = 0; k < it->nop; k++) ptrs[k] -= it->shape[d] * it->strides[d][k];
        counter[d] = 0;
    }
}

/* Work units of a plan:
 *  - plain:  unit = (outer index, chunk of the inner dim)
 *  - tiled:  unit = (outer index, band of tile rows); a band sweeps every
 *            tile column. */
typedef struct {
    npy_intp nunits;
    npy_intp chunks;      /* plain: inner chunks per outer index */
    npy_intp chunk_len;   /* plain: elements per inner chunk */
    npy_intp bands;       /* tiled: tile-row bands per outer index */
    npy_intp edge;        /* tiled: tile edge */
} nr__plan;

static inline void nr__run_plain(const nr_iter *it, const nr__plan *plan,
                                 nr_inner_loop fn, const void *ctx,
                                 npy_intp u0, npy_intp u1)
{
    npy_intp counter[NR_MAX_DIMS];
    char *ptrs[NR_MAX_OPERANDS], *cur[NR_MAX_OPERANDS];
    int nd = it->ndim, nouter = nd - 1, nop = it->nop;
    npy_intp inner = it->shape[nd - 1];
    const npy_intp *s = it->strides[nd - 1];
    if (u0 >= u1) return;
    if (plan->chunks == 1) {
        nr__unravel(it, nouter, u0, counter, ptrs);
        for (npy_intp u = u0; u < u1; u++) {
            for (int k = 0; k < nop; k++) cur[k] = ptrs[k];
            fn(cur, s, inner, ctx);
            nr__next_outer(it, nouter, counter, ptrs);
        }
        return;
    }
    for (npy_intp u = u0; u < u1; u++) {
        npy_intp outer = u / plan->chunks, first = (u % plan->chunks) * plan->chunk_len;
        npy_intp n = inner - first < plan->chunk_len ? inner - first : plan->chunk_len;
        if (n <= 0) continue;
        nr__unravel(it, nouter, outer, counter, ptrs);
        for (int k = 0; k < nop; k++) cur[k] = ptrs[k] + first * s[k];
        fn(cur, s, n, ctx);
    }
}

/* Copies a rows x cols tile of an operand into buf (row pitch `pitch`
 * elements) so the inner loop can read it contiguously.  Reads walk the
 * operand's short stride (rs), so every cache line of the source is used
 * whole; reading it across rows instead makes lines 2^k bytes apart fight
 * for the same cache sets. */
#define NR__GATHER(T)                                                                    \
    {                                                                                    \
        npy_intp c = 0;                                                                  \
        /* 8 source streams at once: 8 contiguous writes per buffer row. */              \
        for (; c + 8 <= cols; c += 8) {                                                  \
            for (npy_intp r = 0; r < rows; r++) {                                        \
                const char *s = src + c * cs + r * rs;                                   \
                T *d = (T *)buf + r * pitch + c;                                         \
                for (int j = 0; j < 8; j++) d[j] = *(const T *)(s + j * cs);             \
            }                                                                            \
        }                                                                                \
        for (; c < cols; c++) {                                                          \
            const char *s = src + c * cs;                                                \
            T *d = (T *)buf + c;                                                         \
            for (npy_intp r = 0; r < rows; r++) d[r * pitch] = *(const T *)(s + r * rs); \
        }                                                                                \
    }
static inline void nr__gather_tile(char *buf, npy_intp pitch, const char *src, npy_intp rs,
                                   npy_intp cs, npy_intp rows, npy_intp cols, int itemsize)
{
    switch (itemsize) {
    case 1: NR__GATHER(uint8_t) break;
    case 2: NR__GATHER(uint16_t) break;
    case 4: NR__GATHER(uint32_t) break;
    case 8: NR__GATHER(uint64_t) break;
    default:
        for (npy_intp c = 0; c < cols; c++)
            for (npy_intp r = 0; r < rows; r++)
                memcpy(buf + (r * pitch + c) * itemsize, src + c * cs + r * rs, (size_t)itemsize);
    }
}
#undef NR__GATHER

static inline void nr__run_tiled(const nr_iter *it, const nr__plan *plan,
                                 nr_inner_loop fn, const void *ctx,
                                 npy_intp u0, npy_intp u1)
{
    npy_intp counter[NR_MAX_DIMS], inner_strides[NR_MAX_OPERANDS];
    char *base[NR_MAX_OPERANDS], *cur[NR_MAX_OPERANDS], *buf[NR_MAX_OPERANDS];
    int nd = it->ndim, nouter = nd - 2, nop = it->nop;
    npy_intp rows = it->shape[nd - 2], cols = it->shape[nd - 1], edge = plan->edge;
    const npy_intp *rs = it->strides[nd - 2], *cs = it->strides[nd - 1];
    /* Inputs that are strided along the inner dim read through a buffer. */
    size_t tile_bytes = (size_t)(edge * edge) * 8;
    char *scratch = NULL;
    int nbuf = 0;
    for (int k = 1; k < nop; k++) {
        npy_intp c = cs[k] < 0 ? -cs[k] : cs[k];
        buf[k] = NULL;
        if (c != 0 && c != it->itemsize[k] && it->itemsize[k] <= 8) nbuf++;
    }
    if (nbuf) scratch = (char *)malloc(tile_bytes * (size_t)nbuf);
    nbuf = 0;
    for (int k = 0; k < nop; k++) {
        npy_intp c = cs[k] < 0 ? -cs[k] : cs[k];
        inner_strides[k] = cs[k];
        if (scratch && k > 0 && c != 0 && c != it->itemsize[k] && it->itemsize[k] <= 8) {
            buf[k] = scratch + tile_bytes * (size_t)nbuf++;
            inner_strides[k] = it->itemsize[k];
        } else {
            buf[k] = NULL;
        }
    }
    for (npy_intp u = u0; u < u1; u++) {
        npy_intp outer = u / plan->bands, r0 = (u % plan->bands) * edge;
        npy_intp r1 = r0 + edge < rows ? r0 + edge : rows;
        nr__unravel(it, nouter, outer, counter, base);
        for (npy_intp c0 = 0; c0 < cols; c0 += edge) {
            npy_intp n = cols - c0 < edge ? cols - c0 : edge;
            for (int k = 0; k < nop; k++) {
                if (buf[k]) nr__gather_tile(buf[k], edge, base[k] + r0 * rs[k] + c0 * cs[k],
                                            rs[k], cs[k], r1 - r0, n, it->itemsize[k]);
            }
            for (npy_intp r = r0; r < r1; r++) {
                for (int k = 0; k < nop; k++) {
                    cur[k] = buf[k] ? buf[k] + (r - r0) * edge * it->itemsize[k]
                                    : base[k] + r * rs[k] + c0 * cs[k];
                }
                fn(cur, inner_strides, n, ctx);
            }
        }
    }
    free(scratch);
}

/* Runs fn over every element.  `grain` is the least number of elements worth
 * a thread (cheap ops: ~64K; transcendental ops: less). */
static inline void nr_iter_run(const nr_iter *it, nr_inner_loop fn, const void *ctx,
                               int nthreads, npy_intp grain)
{
    nr__plan plan = {0, 1, 0, 0, 0};
    npy_intp total = nr_iter_size(it);
    int nd = it->ndim;
    if (total == 0) return;
    if (nd == 0) {
        char *ptrs[NR_MAX_OPERANDS];
        npy_intp zero[NR_MAX_OPERANDS] = {0};
        for (int k = 0; k < it->nop; k++) ptrs[k] = it->data[k];
        fn(ptrs, zero, 1, ctx);
        return;
    }
    if (grain < 1) grain = 1;
    npy_intp want = total / grain;
    if (nthreads < 1) nthreads = 1;
    if (want < nthreads) nthreads = want < 1 ? 1 : (int)want;
    npy_intp inner = it->shape[nd - 1];
    npy_intp outer = total / inner;
    if (it->tiled) {
        plan.edge = nr__tile_edge(it);
        plan.bands = (it->shape[nd - 2] + plan.edge - 1) / plan.edge;
        plan.nunits = (outer / it->shape[nd - 2]) * plan.bands;
    } else {
        /* Split the inner dim only when the outer dims give too few units to
         * balance the threads; chunks are multiples of 64 elements so threads
         * do not share cache lines of a contiguous output. */
        if (nthreads > 1 && outer < 4 * (npy_intp)nthreads) {
            npy_intp pieces = (4 * (npy_intp)nthreads + outer - 1) / outer;
            npy_intp len = (inner + pieces - 1) / pieces;
            len = (len + 63) & ~(npy_intp)63;
            plan.chunks = (inner + len - 1) / len;
            plan.chunk_len = len;
        }
        plan.nunits = outer * plan.chunks;
    }
#ifdef _OPENMP
    if (nthreads > 1 && plan.nunits > 1) {
        #pragma omp parallel num_threads(nthreads)
        {
            npy_intp t = omp_get_thread_num(), nt = omp_get_num_threads();
            npy_intp u0 = plan.nunits * t / nt, u1 = plan.nunits * (t + 1) / nt;
            if (it->tiled) nr__run_tiled(it, &plan, fn, ctx, u0, u1);
            else nr__run_plain(it, &plan, fn, ctx, u0, u1);
        }
        return;
    }
#endif
    if (it->tiled) nr__run_tiled(it, &plan, fn, ctx, 0, plan.nunits);
    else nr__run_plain(it, &plan, fn, ctx, 0, plan.nunits);
}

/* ------------------------------------------------------- memory overlap -- */

/* Byte range [*lo, *hi) touched by an array; returns 0 for an empty one. */
static inline int nr_extent(const char *data, int ndim, const npy_intp *shape,
                            const npy_intp *strides, int itemsize,
                            uintptr_t *lo, uintptr_t *hi)
{
    intptr_t low = 0, high = 0;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 0) return 0;
        intptr_t span = (intptr_t)(shape[d] - 1) * strides[d];
        if (span < 0) low += span; else high += span;
    }
    *lo = (uintptr_t)data + (uintptr_t)low;
    *hi = (uintptr_t)data + (uintptr_t)high + (uintptr_t)itemsize;
    return 1;
}

/* 1 when an input may be read after the output wrote over it: the memory
 * ranges intersect and the input is not exactly the output's elements (same
 * start, item size, and stride on every dim that has more than one
 * element). Operands are described by their own shapes/strides. */
static inline int nr_operands_conflict(const char *out, int out_ndim, const npy_intp *out_shape,
                                       const npy_intp *out_strides, int out_itemsize,
                                       const char *in, int in_ndim, const npy_intp *in_shape,
                                       const npy_intp *in_strides, int in_itemsize)
{
    uintptr_t olo, ohi, ilo, ihi;
    if (!nr_extent(out, out_ndim, out_shape, out_strides, out_itemsize, &olo, &ohi)) return 0;
    if (!nr_extent(in, in_ndim, in_shape, in_strides, in_itemsize, &ilo, &ihi)) return 0;
    if (ohi <= ilo || ihi <= olo) return 0;
    if (out != in || out_ndim != in_ndim || out_itemsize != in_itemsize) return 1;
    for (int d = 0; d < out_ndim; d++) {
        if (out_shape[d] != in_shape[d]) return 1;
        if (out_shape[d] > 1 && out_strides[d] != in_strides[d]) return 1;
    }
    return 0;
}

#endif /* NR_STRIDED_H */
