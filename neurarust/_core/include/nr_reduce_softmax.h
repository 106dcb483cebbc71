/* softmax / log_softmax along one axis, float32 and float64.
 *
 * Each line is one fused kernel: a max pass (NaN propagates), a pass that
 * computes exp(x - max) (stored for softmax) and sums it in double lanes,
 * and a write pass.  Subtracting the max keeps exp in range; a line of
 * all -inf gives NaN (-inf - -inf), as torch does.
 *
 * Lines along the contiguous dim run the line kernel directly (gathered
 * into a buffer when strided).  When a kept dim is more contiguous than
 * the axis, a tile of NR_SOFTMAX_TILE lines is processed together, row by
 * row, which vectorizes across lines and keeps the tile in cache between
 * the three passes.
 */
#ifndef NR_REDUCE_SOFTMAX_H
#define NR_REDUCE_SOFTMAX_H

#include "nr_reduce_scan.h"

#define NR_SOFTMAX_TILE 32

#define NR_SOFTMAX_KERNELS(SUFFIX, T, EXP, LOG, MAX_LANES)                           \
    NR_REDUCE_CLONES static void nr_softmax_line_##SUFFIX(const T *x, T *y, ptrdiff_t n,  \
                                                         int log_mode)                  \
    {                                                                                   \
        T lane_max[MAX_LANES];                                                          \
        double lane_sum[32];                                                            \
        ptrdiff_t i = 0;                                                                \
        for (int j = 0; j < MAX_LANES; j++) lane_max[j] = -INFINITY;                    \
        for (; i + MAX_LANES <= n; i += MAX_LANES)                                      \
            for (int j = 0; j < MAX_LANES; j++) NR_STEP_MAX(lane_max[j], x[i + j]);     \
        for (int j = 0; i + j < n; j++) NR_STEP_MAX(lane_max[j], x[i + j]);             \
        for (int w = MAX_LANES / 2; w >= 1; w /= 2)                                     \
            for (int j = 0; j < w; j++) NR_STEP_MAX(lane_max[j], lane_max[j + w]);      \
        const T m = lane_max[0];                                                        \
        for (int j = 0; j < 32; j++) lane_sum[j] = 0.0;                                 \
        i = 0;                                                                          \
        /* exp goes through a staging array: gcc will not vectorize exp and the  \
         * widening to double in one loop. */                                         \
        for (; i + 32 <= n; i += 32) {                                                  \
            T e[32];                                                                    \
            for (int j = 0; j < 32; j++) e[j] = EXP(x[i + j] - m);                      \
            if (!log_mode)                                                              \
                for (int j = 0; j < 32; j++) y[i + j] = e[j];                           \
            for (int j = 0; j < 32; j++) lane_sum[j] += e[j];                           \
        }                                                                               \
        for (int j = 0; i + j < n; j++) {                                               \
            T e = EXP(x[i + j] - m);                                                    \
            if (!log_mode) y[i + j] = e;                                                \
            lane_sum[j] += e;                                                           \
        }                                                                               \
        for (int w = 16; w >= 1; w /= 2)                                                \
            for (int j = 0; j < w; j++) lane_sum[j] += lane_sum[j + w];                 \
        if (log_mode) {                                                                 \
            const T log_sum = (T)log(lane_sum[0]);                                      \
            for (i = 0; i < n; i++) y[i] = (x[i] - m) - log_sum;                        \
        } else {                                                                        \
            const T inv_sum = (T)(1.0 / lane_sum[0]);                                   \
            for (i = 0; i < n; i++) y[i] *= inv_sum;                                    \
        }                                                                               \
    }                                                                                   \
    NR_REDUCE_CLONES static void nr_softmax_tile_##SUFFIX(                                \
        const char *a, ptrdiff_t sa, ptrdiff_t sw, char *out, ptrdiff_t so, ptrdiff_t ow, \
        ptrdiff_t n, ptrdiff_t w, int log_mode)                                         \
    {                                                                                   \
        T m[NR_SOFTMAX_TILE], k[NR_SOFTMAX_TILE];                                       \
        double s[NR_SOFTMAX_TILE];                                                      \
        if (sw == (ptrdiff_t)sizeof(T) && ow == (ptrdiff_t)sizeof(T))                   \
            NR_SOFTMAX_TILE_BODY(T, EXP, LOG, (ptrdiff_t)sizeof(T), (ptrdiff_t)sizeof(T)) \
        else                                                                            \
            NR_SOFTMAX_TILE_BODY(T, EXP, LOG, sw, ow)                                   \
    }

#define NR_SM_IN(i, j, SW) (*(const T_ *)(a + (i) * sa + (j) * (SW)))
#define NR_SM_OUT(i, j, OW) (*(T_ *)(out + (i) * so + (j) * (OW)))

/* k[] is the per-line constant of the write pass: 1/sum or log(sum). */
#define NR_SOFTMAX_TILE_BODY(T, EXP, LOG, SW, OW)                                       \
    {                                                                                   \
        typedef T T_;                                                                   \
        for (ptrdiff_t j = 0; j < w; j++) { m[j] = -INFINITY; s[j] = 0.0; }             \
        for (ptrdiff_t i = 0; i < n; i++)                                               \
            for (ptrdiff_t j = 0; j < w; j++) NR_STEP_MAX(m[j], NR_SM_IN(i, j, SW));    \
        for (ptrdiff_t i = 0; i < n; i++) {                                             \
            T_ e[NR_SOFTMAX_TILE];                                                      \
            for (ptrdiff_t j = 0; j < w; j++) e[j] = EXP(NR_SM_IN(i, j, SW) - m[j]);    \
            for (ptrdiff_t j = 0; j < w; j++) s[j] += e[j];                             \
            if (!log_mode)                                                              \
                for (ptrdiff_t j = 0; j < w; j++) NR_SM_OUT(i, j, OW) = e[j];           \
        }                                                                               \
        for (ptrdiff_t j = 0; j < w; j++)                                               \
            k[j] = log_mode ? (T_)LOG(s[j]) : (T_)(1.0 / s[j]);                         \
        for (ptrdiff_t i = 0; i < n; i++)                                               \
            for (ptrdiff_t j = 0; j < w; j++) {                                         \
                if (log_mode)                                                           \
                    NR_SM_OUT(i, j, OW) = (NR_SM_IN(i, j, SW) - m[j]) - k[j];           \
                else                                                                    \
                    NR_SM_OUT(i, j, OW) *= k[j];                                        \
            }                                                                           \
    }

NR_SOFTMAX_KERNELS(f32, float, nr_reduce_expf, log, 64)
NR_SOFTMAX_KERNELS(f64, double, nr_reduce_exp, log, 32)

typedef struct {
    void (*line)(const void *x, void *y, ptrdiff_t n, int log_mode);
    void (*tile)(const char *a, ptrdiff_t sa, ptrdiff_t sw, char *out, ptrdiff_t so,
                 ptrdiff_t ow, ptrdiff_t n, ptrdiff_t w, int log_mode);
    ptrdiff_t itemsize;
} nr_softmax_kernel;

static void nr_softmax_line_f32_any(const void *x, void *y, ptrdiff_t n, int log_mode)
{
    nr_softmax_line_f32((const float *)x, (float *)y, n, log_mode);
}
static void nr_softmax_line_f64_any(const void *x, void *y, ptrdiff_t n, int log_mode)
{
    nr_softmax_line_f64((const double *)x, (double *)y, n, log_mode);
}
static const nr_softmax_kernel nr_softmax_f32 = {nr_softmax_line_f32_any, nr_softmax_tile_f32, 4};
static const nr_softmax_kernel nr_softmax_f64 = {nr_softmax_line_f64_any, nr_softmax_tile_f64, 8};

static void nr_copy_strided(char *dst, ptrdiff_t ds, const char *src, ptrdiff_t ss,
                            ptrdiff_t n, ptrdiff_t itemsize)
{
    for (ptrdiff_t i = 0; i < n; i++) memcpy(dst + i * ds, src + i * ss, (size_t)itemsize);
}

typedef struct {
    const nr_softmax_kernel *k;
    const nr_plan *p;
    const char *a;
    char *out;
    int log_mode, contiguous;
    ptrdiff_t n, sa, so;                                   /* the axis */
    ptrdiff_t width, vec_a, vec_o, tiles_per_line, units;  /* tile mode */
    char *buffers;  /* strided lines: n items per thread */
} nr_softmax_ctx;

static void nr_softmax_lines_part(const void *ctx, int part, int parts)
{
    const nr_softmax_ctx *c = (const nr_softmax_ctx *)ctx;
    const nr_plan *p = c->p;
    const ptrdiff_t isz = c->k->itemsize;
    char *buf = c->buffers ? c->buffers + (size_t)part * c->n * isz : NULL;
    ptrdiff_t begin, end;
    nr_odometer it;
    nr_split_range(p->out_count, parts, part, &begin, &end);
    if (begin >= end) return;
    nr_odo_seek(&it, p->n_kept, p->kept_size, p->kept_a, p->kept_o, begin);
    for (ptrdiff_t o = begin; o < end; o++) {
        if (c->contiguous) {
            c->k->line(c->a + it.off_a, c->out + it.off_o, c->n, c->log_mode);
        } else {
            nr_copy_strided(buf, isz, c->a + it.off_a, c->sa, c->n, isz);
            c->k->line(buf, buf, c->n, c->log_mode);
            nr_copy_strided(c->out + it.off_o, c->so, buf, isz, c->n, isz);
        }
        nr_odo_next(&it, p->n_kept, p->kept_size, p->kept_a, p->kept_o);
    }
}

static void nr_softmax_tiles_part(const void *ctx, int part, int parts)
{
    const nr_softmax_ctx *c = (const nr_softmax_ctx *)ctx;
    const nr_plan *p = c->p;
    ptrdiff_t begin, end;
    nr_split_range(c->units, parts, part, &begin, &end);
    for (ptrdiff_t u = begin; u < end; u++) {
        nr_odometer it;
        ptrdiff_t j0 = (u % c->tiles_per_line) * NR_SOFTMAX_TILE;
        nr_odo_seek(&it, p->n_kept - 1, p->kept_size, p->kept_a, p->kept_o, u / c->tiles_per_line);
        c->k->tile(c->a + it.off_a + j0 * c->vec_a, c->sa, c->vec_a,
                   c->out + it.off_o + j0 * c->vec_o, c->so, c->vec_o, c->n,
                   nr_min_pd(NR_SOFTMAX_TILE, c->width - j0), c->log_mode);
    }
}

static int nr_softmax_execute(const nr_softmax_kernel *k, const nr_plan *p, const char *a,
                              char *out, int log_mode)
{
    nr_softmax_ctx c;
    const ptrdiff_t isz = k->itemsize;
    c.k = k;
    c.p = p;
    c.a = a;
    c.out = out;
    c.log_mode = log_mode;
    c.buffers = NULL;
    nr_axis_geometry(p, &c.n, &c.sa, &c.so);
    if (p->out_count == 0 || c.n == 0) return 0;
    int nt = nr_threads_for_work(p->out_count * c.n * 8); /* exp makes elements dear */

    if (!nr_axis_prefers_tiles(p)) {
        c.contiguous = (c.sa == isz || c.n == 1) && (c.so == isz || c.n == 1);
        if (!c.contiguous) {
            c.buffers = (char *)malloc((size_t)nt * (size_t)c.n * (size_t)isz);
            if (!c.buffers) return -1;
        }
        nr_run_parts(nt, nr_softmax_lines_part, &c);
        free(c.buffers);
        return 0;
    }
    c.width = p->kept_size[p->n_kept - 1];
    c.vec_a = p->kept_a[p->n_kept - 1];
    c.vec_o = p->kept_o[p->n_kept - 1];
    c.tiles_per_line = nr_ceil_div(c.width, NR_SOFTMAX_TILE);
    c.units = (p->out_count / c.width) * c.tiles_per_line;
    nr_run_parts(nt, nr_softmax_tiles_part, &c);
    return 0;
}

#endif /* NR_REDUCE_SOFTMAX_H */
