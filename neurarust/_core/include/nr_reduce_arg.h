/* argmax / argmin (with values) along one axis or over the flattened array.
 *
 * The winner is the unique best element under a total order: NaN beats
 * every number (torch), then larger (max) / smaller (min) values, then the
 * smaller index.  Because the order is total, partial winners of any split
 * can be merged in any order: splitting work over threads cannot change the
 * result.
 */
#ifndef NR_REDUCE_ARG_H
#define NR_REDUCE_ARG_H

#include "nr_reduce_driver.h"

typedef struct {
    int itemsize;
    /* n >= 1; *best_index is relative to p. */
    void (*run)(const char *p, ptrdiff_t n, ptrdiff_t stride, nr_acc *best, int64_t *best_index);
    void (*rowinit)(void *best, int64_t *best_index, const char *row, ptrdiff_t n,
                    ptrdiff_t stride);
    void (*rowacc)(void *best, int64_t *best_index, const char *row, ptrdiff_t n,
                   ptrdiff_t stride, int64_t row_index);
    int (*prefer)(const nr_acc *v, int64_t i, const nr_acc *best, int64_t best_i);
} nr_arg_kernel;

#define NR_BETTER_MAX(x, y) ((x) > (y) || ((x) != (x) && (y) == (y)))
#define NR_BETTER_MIN(x, y) ((x) < (y) || ((x) != (x) && (y) == (y)))
#define NR_SAME_VALUE(x, y) ((x) == (y) || ((x) != (x) && (y) != (y)))
#define NR_ARG_LANES 64
#define NR_ARG_PROBE 64

/* Two passes over a block that stays in cache: the extreme value with
 * vectorized lanes (NaN wins), then the first element equal to it, probed
 * NR_ARG_PROBE elements at a time.  Equal-comparing values (-0.0 and 0.0)
 * therefore resolve to the first occurrence, and the value reported is that
 * element itself. */
#define NR_ARG_RUN_BODY(T, STEP, AT)                                              \
    T lane[NR_ARG_LANES];                                                         \
    ptrdiff_t i = 0;                                                              \
    for (int j = 0; j < NR_ARG_LANES; j++) lane[j] = AT(0);                       \
    for (; i + NR_ARG_LANES <= n; i += NR_ARG_LANES)                              \
        for (int j = 0; j < NR_ARG_LANES; j++) STEP(lane[j], AT(i + j));          \
    for (int j = 0; i + j < n; j++) STEP(lane[j], AT(i + j));                     \
    for (int w = NR_ARG_LANES / 2; w >= 1; w /= 2)                                \
        for (int j = 0; j < w; j++) STEP(lane[j], lane[j + w]);                   \
    const T target = lane[0];                                                     \
    const int target_is_nan = target != target;                                   \
    for (ptrdiff_t i0 = 0; i0 < n; i0 += NR_ARG_PROBE) {                          \
        ptrdiff_t m = n - i0 < NR_ARG_PROBE ? n - i0 : NR_ARG_PROBE;              \
        int hit = 0;                                                              \
        if (target_is_nan)                                                        \
            for (ptrdiff_t j = 0; j < m; j++) hit |= AT(i0 + j) != AT(i0 + j);    \
        else                                                                      \
            for (ptrdiff_t j = 0; j < m; j++) hit |= AT(i0 + j) == target;        \
        if (!hit) continue;                                                       \
        for (ptrdiff_t j = 0; j < m; j++) {                                       \
            T v = AT(i0 + j);                                                     \
            if (target_is_nan ? v != v : v == target) {                           \
                *(T *)best = v;                                                   \
                *best_index = i0 + j;                                             \
                return;                                                           \
            }                                                                     \
        }                                                                         \
    }

#define NR_ARG_KERNEL(NAME, T, BETTER, STEP)                                      \
    NR_REDUCE_CLONES static void NAME##_run(const char *p, ptrdiff_t n, ptrdiff_t stride, \
                                          nr_acc *best, int64_t *best_index)      \
    {                                                                             \
        typedef T in_t;                                                           \
        if (stride == (ptrdiff_t)sizeof(T)) {                                     \
            const T *x = (const T *)p;                                            \
            NR_ARG_RUN_BODY(T, STEP, NR_AT_CONTIG)                                \
        } else {                                                                  \
            NR_ARG_RUN_BODY(T, STEP, NR_AT_STRIDED)                               \
        }                                                                         \
    }                                                                             \
    static void NAME##_rowinit(void *bv, int64_t *bi, const char *p, ptrdiff_t n, \
                               ptrdiff_t stride)                                  \
    {                                                                             \
        typedef T in_t;                                                           \
        for (ptrdiff_t i = 0; i < n; i++) {                                       \
            ((T *)bv)[i] = NR_AT_STRIDED(i);                                      \
            bi[i] = 0;                                                            \
        }                                                                         \
    }                                                                             \
    NR_REDUCE_CLONES static void NAME##_rowacc(void *bv, int64_t *bi, const char *p, \
                                             ptrdiff_t n, ptrdiff_t stride, int64_t r) \
    {                                                                             \
        typedef T in_t;                                                           \
        T *best = (T *)bv;                                                        \
        if (stride == (ptrdiff_t)sizeof(T)) {                                     \
            const T *x = (const T *)p;                                            \
            for (ptrdiff_t i = 0; i < n; i++) {                                   \
                T v = x[i];                                                       \
                int better = BETTER(v, best[i]);                                  \
                best[i] = better ? v : best[i];                                   \
                bi[i] = better ? r : bi[i];                                       \
            }                                                                     \
        } else {                                                                  \
            for (ptrdiff_t i = 0; i < n; i++) {                                   \
                T v = NR_AT_STRIDED(i);                                           \
                if (BETTER(v, best[i])) { best[i] = v; bi[i] = r; }               \
            }                                                                     \
        }                                                                         \
    }                                                                             \
    static int NAME##_prefer(const nr_acc *v, int64_t i, const nr_acc *b, int64_t bi) \
    {                                                                             \
        T x = *(const T *)v, y = *(const T *)b;                                   \
        return BETTER(x, y) || (NR_SAME_VALUE(x, y) && i < bi);                   \
    }                                                                             \
    static const nr_arg_kernel NAME = {sizeof(T), NAME##_run, NAME##_rowinit,     \
                                       NAME##_rowacc, NAME##_prefer};

#define NR_ARG_PAIR(SUFFIX, T)                                                    \
    NR_ARG_KERNEL(nr_argmax_##SUFFIX, T, NR_BETTER_MAX, NR_STEP_MAX)              \
    NR_ARG_KERNEL(nr_argmin_##SUFFIX, T, NR_BETTER_MIN, NR_STEP_MIN)

NR_ARG_PAIR(u8, uint8_t) /* also bool */
NR_ARG_PAIR(i8, int8_t)
NR_ARG_PAIR(i16, int16_t)
NR_ARG_PAIR(i32, int32_t)
NR_ARG_PAIR(i64, int64_t)
NR_ARG_PAIR(f32, float)
NR_ARG_PAIR(f64, double)

static const nr_arg_kernel *const nr_arg_table[2][NR_IN_NUM_DTYPES] = {
    {&nr_argmax_u8, &nr_argmax_i8, &nr_argmax_u8, &nr_argmax_i16, &nr_argmax_i32,
     &nr_argmax_i64, &nr_argmax_f32, &nr_argmax_f64},
    {&nr_argmin_u8, &nr_argmin_i8, &nr_argmin_u8, &nr_argmin_i16, &nr_argmin_i32,
     &nr_argmin_i64, &nr_argmin_f32, &nr_argmin_f64},
};

typedef struct {
    const nr_arg_kernel *k;
    const nr_plan *p;    /* out strides are those of the int64 indices */
    const char *a;
    char *values;        /* NULL when only indices are wanted */
    int64_t *indices;
} nr_arg_job;

#define NR_ARG_BLOCK 16384

typedef struct {
    const nr_arg_job *job;
    ptrdiff_t run_len, run_stride, blocks_per_run, total_blocks;
    int n_outer_red;
} nr_arg_runs;

static inline void nr_arg_store(const nr_arg_job *job, ptrdiff_t out_off, const nr_acc *v,
                                int64_t i)
{
    ptrdiff_t flat = out_off / (ptrdiff_t)sizeof(int64_t);
    job->indices[flat] = i;
    if (job->values) memcpy(job->values + flat * job->k->itemsize, v, job->k->itemsize);
}

/* Best over blocks [b0, b1) of one output; flat index = run * run_len + j,
 * which is the C-order flat index when the runs are in logical order. */
static int nr_arg_blocks(const nr_arg_runs *c, const char *base, ptrdiff_t b0, ptrdiff_t b1,
                         nr_acc *best, int64_t *best_index)
{
    const nr_plan *p = c->job->p;
    const nr_arg_kernel *k = c->job->k;
    ptrdiff_t run = b0 / c->blocks_per_run, block = b0 % c->blocks_per_run;
    nr_odometer it;
    int found = 0;
    nr_odo_seek(&it, c->n_outer_red, p->red_size, p->red_a, NULL, run);
    for (ptrdiff_t b = b0; b < b1; b++) {
        ptrdiff_t start = block * NR_ARG_BLOCK;
        nr_acc v;
        int64_t i;
        k->run(base + it.off_a + start * c->run_stride,
               nr_min_pd(NR_ARG_BLOCK, c->run_len - start), c->run_stride, &v, &i);
        i += (int64_t)(run * c->run_len + start);
        if (!found || k->prefer(&v, i, best, *best_index)) {
            *best = v;
            *best_index = i;
            found = 1;
        }
        if (++block == c->blocks_per_run) {
            block = 0;
            run++;
            nr_odo_next(&it, c->n_outer_red, p->red_size, p->red_a, NULL);
        }
    }
    return found;
}

static void nr_arg_runs_part(const void *ctx, int part, int parts)
{
    const nr_arg_runs *c = (const nr_arg_runs *)ctx;
    const nr_plan *p = c->job->p;
    ptrdiff_t begin, end;
    nr_odometer it;
    nr_split_range(p->out_count, parts, part, &begin, &end);
    if (begin >= end) return;
    nr_odo_seek(&it, p->n_kept, p->kept_size, p->kept_a, p->kept_o, begin);
    for (ptrdiff_t o = begin; o < end; o++) {
        nr_acc best = {0};
        int64_t best_i = 0;
        nr_arg_blocks(c, c->job->a + it.off_a, 0, c->total_blocks, &best, &best_i);
        nr_arg_store(c->job, it.off_o, &best, best_i);
        nr_odo_next(&it, p->n_kept, p->kept_size, p->kept_a, p->kept_o);
    }
}

#define NR_ARG_MAX_PARTS 256

typedef struct {
    const nr_arg_runs *runs;
    const char *base;
    nr_acc best[NR_ARG_MAX_PARTS];
    int64_t best_i[NR_ARG_MAX_PARTS];
    int found[NR_ARG_MAX_PARTS];
} nr_arg_split;

static void nr_arg_split_part(const void *ctx, int part, int parts)
{
    nr_arg_split *s = (nr_arg_split *)ctx;
    ptrdiff_t b0, b1;
    nr_split_range(s->runs->total_blocks, parts, part, &b0, &b1);
    s->found[part] = nr_arg_blocks(s->runs, s->base, b0, b1, &s->best[part], &s->best_i[part]);
}

static int nr_arg_by_runs(const nr_arg_job *job)
{
    const nr_plan *p = job->p;
    nr_arg_runs c;
    c.job = job;
    c.run_len = p->n_red ? p->red_size[p->n_red - 1] : 1;
    c.run_stride = p->n_red ? p->red_a[p->n_red - 1] : 0;
    c.n_outer_red = p->n_red ? p->n_red - 1 : 0;
    c.blocks_per_run = nr_ceil_div(c.run_len, NR_ARG_BLOCK);
    c.total_blocks = (p->red_count / c.run_len) * c.blocks_per_run;
    int nt = nr_threads_for_work(p->out_count * p->red_count);

    if (nt > 1 && p->out_count < 2 * nt && c.total_blocks > 1) {
        /* Few outputs: split each one's blocks over the threads instead. */
        nr_arg_split s;
        nr_odometer it;
        s.runs = &c;
        if (nt > NR_ARG_MAX_PARTS) nt = NR_ARG_MAX_PARTS;
        nr_odo_seek(&it, p->n_kept, p->kept_size, p->kept_a, p->kept_o, 0);
        for (ptrdiff_t o = 0; o < p->out_count; o++) {
            nr_acc best = {0};
            int64_t best_i = 0;
            int found = 0;
            s.base = job->a + it.off_a;
            for (int t = 0; t < nt; t++) s.found[t] = 0;
            nr_run_parts(nt, nr_arg_split_part, &s);
            for (int t = 0; t < nt; t++)
                if (s.found[t] &&
                    (!found || job->k->prefer(&s.best[t], s.best_i[t], &best, best_i))) {
                    best = s.best[t];
                    best_i = s.best_i[t];
                    found = 1;
                }
            nr_arg_store(job, it.off_o, &best, best_i);
            nr_odo_next(&it, p->n_kept, p->kept_size, p->kept_a, p->kept_o);
        }
        return 0;
    }

    nr_run_parts(nt, nr_arg_runs_part, &c);
    return 0;
}

/* Axis reductions whose kept inner dim is the contiguous one: compare whole
 * rows against a tile of running winners. */
typedef struct {
    const nr_arg_job *job;
    ptrdiff_t width, vec_a, vec_o, rows, row_stride, tile, tiles_per_line, units;
    char *scratch; /* per thread: tile values, then tile indices */
} nr_arg_rows;

static void nr_arg_rows_part(const void *ctx, int part, int parts)
{
    const nr_arg_rows *c = (const nr_arg_rows *)ctx;
    const nr_plan *p = c->job->p;
    const nr_arg_kernel *k = c->job->k;
    char *best = c->scratch + (size_t)part * c->tile * 2 * sizeof(nr_acc);
    int64_t *best_i = (int64_t *)(best + c->tile * sizeof(nr_acc));
    ptrdiff_t begin, end;
    nr_split_range(c->units, parts, part, &begin, &end);
    for (ptrdiff_t u = begin; u < end; u++) {
        nr_odometer it;
        ptrdiff_t j0 = (u % c->tiles_per_line) * c->tile;
        ptrdiff_t w = nr_min_pd(c->tile, c->width - j0);
        nr_odo_seek(&it, p->n_kept - 1, p->kept_size, p->kept_a, p->kept_o, u / c->tiles_per_line);
        const char *col = c->job->a + it.off_a + j0 * c->vec_a;
        k->rowinit(best, best_i, col, w, c->vec_a);
        for (ptrdiff_t r = 1; r < c->rows; r++)
            k->rowacc(best, best_i, col + r * c->row_stride, w, c->vec_a, r);
        ptrdiff_t flat = (it.off_o + j0 * c->vec_o) / (ptrdiff_t)sizeof(int64_t);
        ptrdiff_t step = c->vec_o / (ptrdiff_t)sizeof(int64_t);
        for (ptrdiff_t j = 0; j < w; j++) {
            c->job->indices[flat + j * step] = best_i[j];
            if (c->job->values)
                memcpy(c->job->values + (flat + j * step) * k->itemsize,
                       best + j * k->itemsize, (size_t)k->itemsize);
        }
    }
}

static int nr_arg_by_rows(const nr_arg_job *job)
{
    const nr_plan *p = job->p;
    nr_arg_rows c;
    c.job = job;
    c.width = p->kept_size[p->n_kept - 1];
    c.vec_a = p->kept_a[p->n_kept - 1];
    c.vec_o = p->kept_o[p->n_kept - 1];
    c.rows = p->red_count;
    c.row_stride = p->n_red ? p->red_a[0] : 0;
    ptrdiff_t lines = p->out_count / c.width;
    int nt = nr_threads_for_work(p->out_count * c.rows);
    c.tile = NR_ROW_TILE;
    if (nt > 1 && lines * nr_ceil_div(c.width, c.tile) < nt && c.width >= 64 * nt)
        c.tile = nr_ceil_div(nr_ceil_div(c.width, nt), 16) * 16;
    c.tiles_per_line = nr_ceil_div(c.width, c.tile);
    c.units = lines * c.tiles_per_line;
    c.scratch = (char *)malloc((size_t)nt * (size_t)c.tile * 2 * sizeof(nr_acc));
    if (!c.scratch) return -1;
    nr_run_parts(nt, nr_arg_rows_part, &c);
    free(c.scratch);
    return 0;
}

/* The caller guarantees red_count > 0 and at most one reduced dim unless
 * the plan keeps no dim (flattened), with reduced dims in logical order. */
static int nr_arg_execute(const nr_arg_job *job)
{
    const nr_plan *p = job->p;
    if (p->out_count == 0) return 0;
    if (p->n_kept > 0 && p->n_red <= 1) {
        ptrdiff_t width = p->kept_size[p->n_kept - 1];
        if (p->n_red == 0 ||
            (nr_stride_key(p->kept_a[p->n_kept - 1]) < nr_stride_key(p->red_a[0]) && width >= 8))
            return nr_arg_by_rows(job);
    }
    return nr_arg_by_runs(job);
}

#endif /* NR_REDUCE_ARG_H */
