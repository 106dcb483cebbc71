/* cumsum / cumprod along one axis.
 *
 * Every output line is a plain left-to-right recurrence in the accumulator
 * type (uint64 for integers, double for floats, like torch's CPU kernels),
 * whichever loop order is used, so neither layout nor threads change a bit.
 * When the axis is not the contiguous dim, a tile of lines advances
 * together one row at a time so the loop vectorizes across lines.
 */
#ifndef NR_REDUCE_SCAN_H
#define NR_REDUCE_SCAN_H

#include "nr_reduce_driver.h"

typedef struct {
    void (*line)(const char *a, ptrdiff_t n, ptrdiff_t sa, char *out, ptrdiff_t so);
    void (*tile)(const char *a, ptrdiff_t n, ptrdiff_t sa, ptrdiff_t w, ptrdiff_t sw,
                 char *out, ptrdiff_t so, ptrdiff_t ow, void *acc);
} nr_scan_kernel;

#define NR_SCAN_TILE 256

#define NR_SCAN_TILE_BODY(NAME, IDENT, STEP, SW, OW)                              \
    for (ptrdiff_t j = 0; j < w; j++) acc[j] = (IDENT);                           \
    for (ptrdiff_t i = 0; i < n; i++) {                                           \
        const char *row = a + i * sa;                                             \
        char *orow = out + i * so;                                                \
        for (ptrdiff_t j = 0; j < w; j++) {                                       \
            acc_t v = NAME##_term(*(const in_t *)(row + j * (SW)));               \
            STEP(acc[j], v);                                                      \
            *(out_t *)(orow + j * (OW)) = (out_t)acc[j];                          \
        }                                                                         \
    }

#define NR_SCAN_KERNEL(NAME, IN_T, ACC_T, OUT_T, IDENT, EXPR, STEP)               \
    static inline ACC_T NAME##_term(IN_T e) { return (ACC_T)(EXPR); }            \
    static void NAME##_line(const char *a, ptrdiff_t n, ptrdiff_t sa, char *out,  \
                            ptrdiff_t so)                                         \
    {                                                                             \
        ACC_T acc = (IDENT);                                                      \
        for (ptrdiff_t i = 0; i < n; i++) {                                       \
            ACC_T v = NAME##_term(*(const IN_T *)(a + i * sa));                   \
            STEP(acc, v);                                                         \
            *(OUT_T *)(out + i * so) = (OUT_T)acc;                                \
        }                                                                         \
    }                                                                             \
    NR_REDUCE_CLONES static void NAME##_tile(const char *a, ptrdiff_t n, ptrdiff_t sa, \
                                           ptrdiff_t w, ptrdiff_t sw, char *out,  \
                                           ptrdiff_t so, ptrdiff_t ow, void *accv) \
    {                                                                             \
        typedef IN_T in_t;                                                        \
        typedef ACC_T acc_t;                                                      \
        typedef OUT_T out_t;                                                      \
        acc_t *acc = (acc_t *)accv;                                               \
        if (sw == (ptrdiff_t)sizeof(in_t) && ow == (ptrdiff_t)sizeof(out_t)) {    \
            NR_SCAN_TILE_BODY(NAME, IDENT, STEP, (ptrdiff_t)sizeof(in_t),         \
                              (ptrdiff_t)sizeof(out_t))                           \
        } else {                                                                  \
            NR_SCAN_TILE_BODY(NAME, IDENT, STEP, sw, ow)                          \
        }                                                                         \
    }                                                                             \
    static const nr_scan_kernel NAME = {NAME##_line, NAME##_tile};

#define NR_SCAN_PAIR(SUFFIX, IN_T, ACC_T, OUT_T, EXPR)                            \
    NR_SCAN_KERNEL(nr_cumsum_##SUFFIX, IN_T, ACC_T, OUT_T, 0, EXPR, NR_STEP_ADD)  \
    NR_SCAN_KERNEL(nr_cumprod_##SUFFIX, IN_T, ACC_T, OUT_T, 1, EXPR, NR_STEP_MUL)

NR_SCAN_PAIR(b, uint8_t, uint64_t, int64_t, e != 0)
NR_SCAN_PAIR(i8, int8_t, uint64_t, int64_t, (int64_t)e)
NR_SCAN_PAIR(u8, uint8_t, uint64_t, int64_t, e)
NR_SCAN_PAIR(i16, int16_t, uint64_t, int64_t, (int64_t)e)
NR_SCAN_PAIR(i32, int32_t, uint64_t, int64_t, (int64_t)e)
NR_SCAN_PAIR(i64, int64_t, uint64_t, int64_t, e)
NR_SCAN_PAIR(f32, float, double, float, e)
NR_SCAN_PAIR(f64, double, double, double, e)

static const nr_scan_kernel *const nr_scan_table[2][NR_IN_NUM_DTYPES] = {
    {&nr_cumsum_b, &nr_cumsum_i8, &nr_cumsum_u8, &nr_cumsum_i16, &nr_cumsum_i32,
     &nr_cumsum_i64, &nr_cumsum_f32, &nr_cumsum_f64},
    {&nr_cumprod_b, &nr_cumprod_i8, &nr_cumprod_u8, &nr_cumprod_i16, &nr_cumprod_i32,
     &nr_cumprod_i64, &nr_cumprod_f32, &nr_cumprod_f64},
};

/* Plans for "along one axis" kernels (scan, softmax): the axis is the plan's
 * only reduced dim (none when it has size 1) and red_o is its output stride. */
static inline void nr_axis_geometry(const nr_plan *p, ptrdiff_t *n, ptrdiff_t *sa, ptrdiff_t *so)
{
    *n = p->red_count;
    *sa = p->n_red ? p->red_a[0] : 0;
    *so = p->n_red ? p->red_o[0] : 0;
}

/* True when lines along the axis should be walked together, row by row,
 * because a kept dim is more contiguous than the axis. */
static inline int nr_axis_prefers_tiles(const nr_plan *p)
{
    if (p->n_kept == 0) return 0;
    if (p->kept_size[p->n_kept - 1] < 4) return 0;
    return p->n_red == 0 ||
           nr_stride_key(p->kept_a[p->n_kept - 1]) < nr_stride_key(p->red_a[0]);
}

typedef struct {
    const nr_scan_kernel *k;
    const nr_plan *p;
    const char *a;
    char *out;
    ptrdiff_t n, sa, so;                       /* the axis */
    ptrdiff_t width, vec_a, vec_o, tiles_per_line, units; /* tile mode */
    nr_acc *scratch;                           /* NR_SCAN_TILE per thread */
} nr_scan_ctx;

static void nr_scan_lines_part(const void *ctx, int part, int parts)
{
    const nr_scan_ctx *c = (const nr_scan_ctx *)ctx;
    const nr_plan *p = c->p;
    ptrdiff_t begin, end;
    nr_odometer it;
    nr_split_range(p->out_count, parts, part, &begin, &end);
    if (begin >= end) return;
    nr_odo_seek(&it, p->n_kept, p->kept_size, p->kept_a, p->kept_o, begin);
    for (ptrdiff_t o = begin; o < end; o++) {
        c->k->line(c->a + it.off_a, c->n, c->sa, c->out + it.off_o, c->so);
        nr_odo_next(&it, p->n_kept, p->kept_size, p->kept_a, p->kept_o);
    }
}

static void nr_scan_tiles_part(const void *ctx, int part, int parts)
{
    const nr_scan_ctx *c = (const nr_scan_ctx *)ctx;
    const nr_plan *p = c->p;
    nr_acc *acc = c->scratch + (size_t)part * NR_SCAN_TILE;
    ptrdiff_t begin, end;
    nr_split_range(c->units, parts, part, &begin, &end);
    for (ptrdiff_t u = begin; u < end; u++) {
        nr_odometer it;
        ptrdiff_t j0 = (u % c->tiles_per_line) * NR_SCAN_TILE;
        nr_odo_seek(&it, p->n_kept - 1, p->kept_size, p->kept_a, p->kept_o, u / c->tiles_per_line);
        c->k->tile(c->a + it.off_a + j0 * c->vec_a, c->n, c->sa,
                   nr_min_pd(NR_SCAN_TILE, c->width - j0), c->vec_a,
                   c->out + it.off_o + j0 * c->vec_o, c->so, c->vec_o, acc);
    }
}

static int nr_scan_execute(const nr_scan_kernel *k, const nr_plan *p, const char *a, char *out)
{
    nr_scan_ctx c;
    c.k = k;
    c.p = p;
    c.a = a;
    c.out = out;
    nr_axis_geometry(p, &c.n, &c.sa, &c.so);
    if (p->out_count == 0 || c.n == 0) return 0;
    int nt = nr_threads_for_work(p->out_count * c.n);
    if (!nr_axis_prefers_tiles(p)) {
        nr_run_parts(nt, nr_scan_lines_part, &c);
        return 0;
    }
    c.width = p->kept_size[p->n_kept - 1];
    c.vec_a = p->kept_a[p->n_kept - 1];
    c.vec_o = p->kept_o[p->n_kept - 1];
    c.tiles_per_line = nr_ceil_div(c.width, NR_SCAN_TILE);
    c.units = (p->out_count / c.width) * c.tiles_per_line;
    c.scratch = (nr_acc *)malloc((size_t)nt * NR_SCAN_TILE * sizeof(nr_acc));
    if (!c.scratch) return -1;
    nr_run_parts(nt, nr_scan_tiles_part, &c);
    free(c.scratch);
    return 0;
}

#endif /* NR_REDUCE_SCAN_H */
