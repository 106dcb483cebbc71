/* Shared plumbing for the reduction kernels (reduce.pyx): thread policy,
 * iteration plans over strided arrays, odometers and the pairwise combiner.
 *
 * Every reduction first becomes an nr_plan: the input's dims split into
 * "kept" dims (they index the output) and "reduced" dims, size-1 dims
 * dropped, each group ordered from largest to smallest stride and
 * adjacent dims merged when memory allows.  The drivers only ever see
 * plans, so layout decisions live in one place.
 *
 * Determinism rule for everything built on this file: the order in which
 * values are combined may depend on shapes and strides, never on the
 * number of threads.  Threads only decide who computes which fixed piece.
 */
#ifndef NR_REDUCE_COMMON_H
#define NR_REDUCE_COMMON_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define NR_REDUCE_CLONES \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define NR_REDUCE_CLONES
#endif

#define NR_MAXDIMS 64

/* Below this many input elements a parallel region costs more than it saves. */
#define NR_PARALLEL_MIN_WORK ((ptrdiff_t)1 << 15)

/* The one place that decides how many threads a kernel may use; swap the
 * body for the shared config module's getter once it exists. */
static inline int nr_reduce_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* Test hook: lets the tests prove results do not depend on the thread count. */
static inline void nr_reduce_set_threads_for_testing(int n)
{
#ifdef _OPENMP
    omp_set_num_threads(n > 0 ? n : 1);
#else
    (void)n;
#endif
}

static inline int nr_reduce_openmp_enabled(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

static inline int nr_threads_for_work(ptrdiff_t work)
{
    return work < NR_PARALLEL_MIN_WORK ? 1 : nr_reduce_max_threads();
}

static inline int nr_thread_index(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Calls fn(ctx, part, parts) once per thread of a team of nt, or directly
 * when nt == 1 so that small calls never pay for a parallel region. */
typedef void (*nr_part_fn)(const void *ctx, int part, int parts);

static inline void nr_run_parts(int nt, nr_part_fn fn, const void *ctx)
{
#ifdef _OPENMP
    if (nt > 1) {
#pragma omp parallel num_threads(nt)
        fn(ctx, omp_get_thread_num(), omp_get_num_threads());
        return;
    }
#endif
    fn(ctx, 0, 1);
}

static inline void nr_split_range(ptrdiff_t total, int parts, int part,
                                  ptrdiff_t *begin, ptrdiff_t *end)
{
    ptrdiff_t base = total / parts, extra = total % parts;
    *begin = part * base + (part < extra ? part : extra);
    *end = *begin + base + (part < extra ? 1 : 0);
}

static inline ptrdiff_t nr_ceil_div(ptrdiff_t a, ptrdiff_t b) { return (a + b - 1) / b; }

/* Broadcast (stride 0) dims sort as the outermost: they touch no new memory. */
static inline ptrdiff_t nr_stride_key(ptrdiff_t stride)
{
    if (stride == 0) return PTRDIFF_MAX;
    return stride < 0 ? -stride : stride;
}

typedef struct {
    int n_kept, n_red;
    /* Ordered outermost first; strides in bytes. */
    ptrdiff_t kept_size[NR_MAXDIMS], kept_a[NR_MAXDIMS], kept_o[NR_MAXDIMS];
    ptrdiff_t red_size[NR_MAXDIMS], red_a[NR_MAXDIMS], red_o[NR_MAXDIMS];
    ptrdiff_t out_count, red_count;
} nr_plan;

typedef struct {
    ptrdiff_t size, a, o;
} nr_dim;

static void nr_sort_dims_outer_first(nr_dim *dims, int n)
{
    /* Insertion sort: stable, and n is tiny. */
    for (int i = 1; i < n; i++) {
        nr_dim d = dims[i];
        int j = i - 1;
        while (j >= 0 && nr_stride_key(dims[j].a) < nr_stride_key(d.a)) {
            dims[j + 1] = dims[j];
            j--;
        }
        dims[j + 1] = d;
    }
}

static int nr_merge_dims(nr_dim *dims, int n)
{
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (m > 0 && dims[m - 1].a == dims[i].a * dims[i].size &&
            dims[m - 1].o == dims[i].o * dims[i].size) {
            dims[m - 1].size *= dims[i].size;
            dims[m - 1].a = dims[i].a;
            dims[m - 1].o = dims[i].o;
        } else {
            dims[m++] = dims[i];
        }
    }
    return m;
}

/* reduced[d] marks the dims folded away; out_strides[d] is the output's
 * byte stride for dim d (reduced dims of a reduction pass 0).  With
 * sort_reduced == 0 the reduced dims keep their logical (C) order, which
 * flat-index semantics (argmax over the whole array) need. */
static void nr_plan_build(nr_plan *p, int ndim, const ptrdiff_t *shape,
                          const ptrdiff_t *a_strides, const unsigned char *reduced,
                          const ptrdiff_t *out_strides, int sort_reduced)
{
    nr_dim kept[NR_MAXDIMS], red[NR_MAXDIMS];
    int nk = 0, nr = 0;
    p->out_count = 1;
    p->red_count = 1;
    for (int d = 0; d < ndim; d++) {
        nr_dim dim = {shape[d], a_strides[d], out_strides[d]};
        if (reduced[d]) {
            p->red_count *= shape[d];
            if (shape[d] != 1) red[nr++] = dim;
        } else {
            p->out_count *= shape[d];
            if (shape[d] != 1) kept[nk++] = dim;
        }
    }
    nr_sort_dims_outer_first(kept, nk);
    if (sort_reduced) nr_sort_dims_outer_first(red, nr);
    nk = nr_merge_dims(kept, nk);
    nr = nr_merge_dims(red, nr);
    p->n_kept = nk;
    p->n_red = nr;
    for (int i = 0; i < nk; i++) {
        p->kept_size[i] = kept[i].size;
        p->kept_a[i] = kept[i].a;
        p->kept_o[i] = kept[i].o;
    }
    for (int i = 0; i < nr; i++) {
        p->red_size[i] = red[i].size;
        p->red_a[i] = red[i].a;
        p->red_o[i] = red[i].o;
    }
}

/* Walks a block of dims in C order, tracking byte offsets into up to two
 * arrays (the second stride table may be NULL). */
typedef struct {
    ptrdiff_t index[NR_MAXDIMS];
    ptrdiff_t off_a, off_o;
} nr_odometer;

static inline void nr_odo_seek(nr_odometer *it, int n, const ptrdiff_t *size,
                               const ptrdiff_t *sa, const ptrdiff_t *so, ptrdiff_t linear)
{
    it->off_a = 0;
    it->off_o = 0;
    for (int d = n - 1; d >= 0; d--) {
        ptrdiff_t i = size[d] > 0 ? linear % size[d] : 0;
        linear = size[d] > 0 ? linear / size[d] : 0;
        it->index[d] = i;
        it->off_a += i * sa[d];
        if (so) it->off_o += i * so[d];
    }
}

static inline void nr_odo_next(nr_odometer *it, int n, const ptrdiff_t *size,
                               const ptrdiff_t *sa, const ptrdiff_t *so)
{
    for (int d = n - 1; d >= 0; d--) {
        it->index[d]++;
        it->off_a += sa[d];
        if (so) it->off_o += so[d];
        if (it->index[d] < size[d]) return;
        it->off_a -= size[d] * sa[d];
        if (so) it->off_o -= size[d] * so[d];
        it->index[d] = 0;
    }
}

/* One accumulator of any kernel; kernels view it as their own type. */
typedef union {
    double f64;
    float f32;
    uint64_t u64;
    int64_t i64;
    int32_t i32;
    int16_t i16;
    int8_t i8;
    uint8_t u8;
} nr_acc;

typedef void (*nr_combine_fn)(void *dst, const void *src, ptrdiff_t n);

/* Streaming pairwise combination: values pushed in sequence are merged like
 * a binary counter, so n partial sums meet in a tree of depth log2(n).  The
 * tree depends only on how many values are pushed. */
typedef struct {
    nr_acc slot[64];
    unsigned char level[64];
    int depth;
} nr_pairwise;

static inline void nr_pw_start(nr_pairwise *s) { s->depth = 0; }

static inline void nr_pw_push(nr_pairwise *s, nr_combine_fn combine, const nr_acc *v)
{
    s->slot[s->depth] = *v;
    s->level[s->depth] = 0;
    s->depth++;
    while (s->depth >= 2 && s->level[s->depth - 1] == s->level[s->depth - 2]) {
        combine(&s->slot[s->depth - 2], &s->slot[s->depth - 1], 1);
        s->level[s->depth - 2]++;
        s->depth--;
    }
}

/* Returns 0 when nothing was pushed (the caller supplies the identity). */
static inline int nr_pw_finish(nr_pairwise *s, nr_combine_fn combine, nr_acc *out)
{
    if (s->depth == 0) return 0;
    while (s->depth >= 2) {
        combine(&s->slot[s->depth - 2], &s->slot[s->depth - 1], 1);
        s->depth--;
    }
    *out = s->slot[0];
    return 1;
}

#endif /* NR_REDUCE_COMMON_H */
