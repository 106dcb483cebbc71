/* Fused softmax + cross-entropy over (N, C) row-major logits, float32/float64.
 *
 * Forward, one row at a time: a max pass, a pass summing exp(x - max) in
 * double lanes (and, with label smoothing, the weighted sum of the logits),
 * then lse = max + log(sum).  From lse alone:
 *   nll_r    = w[t] * (lse - x[t])                (= -w[t] * log_softmax[t])
 *   smooth_r = sum_c w[c] * (lse - x[c]) = lse * W - sum_c w[c] x[c]
 * The log-probabilities are never written: backward needs only lse.
 *
 * Backward, one pass: with A_r the coefficient of nll_r and B_r that of
 * smooth_r in the loss,
 *   dL/dx[c] = p[c] * (A_r w[t] + B_r W) - B_r w[c] - [c == t] A_r w[t]
 * with p[c] = exp(x[c] - lse).  Rows whose target is ignore_index get 0.
 *
 * Rows are split across threads in fixed blocks; each row is computed by one
 * thread in a fixed order, so results do not depend on the thread count.
 */
#ifndef NR_NN_LOSS_H
#define NR_NN_LOSS_H

/* Only the thread helpers of the reduction plumbing are used here. */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "nr_reduce_common.h"
#include "nr_reduce_exp.h"

#define NR_CE_LANES 16

typedef struct {
    const void *x;
    const int64_t *t;
    const void *w;      /* NULL: every class weighs 1 */
    int64_t ignore;
    ptrdiff_t n, c;
    int smooth;         /* compute smooth_r too */
    double ls;          /* label smoothing: loss_r = (1 - ls) nll_r + ls / C smooth_r */
    double w_total;     /* W = sum of the class weights (C without weights) */
    void *lse, *loss, *nll, *sm, *wt;
    /* backward */
    const void *gout;   /* per-row upstream gradient, or NULL (then 1) */
    double ca, cb;      /* A_r = ca * gout_r, B_r = cb * gout_r */
    void *gx;
} nr_ce_args;

#define NR_CE_KERNELS(SUF, T, EXP)                                                           \
    NR_REDUCE_CLONES static void nr_ce_fwd_rows_##SUF(const nr_ce_args *a, ptrdiff_t r0,     \
                                                      ptrdiff_t r1)                          \
    {                                                                                        \
        const ptrdiff_t C = a->c;                                                            \
        const T *w = (const T *)a->w;                                                        \
        T *lse_o = (T *)a->lse, *loss_o = (T *)a->loss, *nll_o = (T *)a->nll;                \
        T *sm_o = (T *)a->sm, *wt_o = (T *)a->wt;                                            \
        for (ptrdiff_t r = r0; r < r1; r++) {                                                \
            const T *x = (const T *)a->x + r * C;                                            \
            const int64_t t = a->t[r];                                                       \
            if (t == a->ignore) {                                                            \
                lse_o[r] = 0; loss_o[r] = 0; nll_o[r] = 0; sm_o[r] = 0; wt_o[r] = 0;         \
                continue;                                                                    \
            }                                                                                \
            T lane_max[NR_CE_LANES];                                                         \
            int has_nan = 0;                                                                 \
            ptrdiff_t i = 0;                                                                 \
            for (int j = 0; j < NR_CE_LANES; j++) lane_max[j] = -INFINITY;                   \
            for (; i + NR_CE_LANES <= C; i += NR_CE_LANES)                                   \
                for (int j = 0; j < NR_CE_LANES; j++)                                        \
                    lane_max[j] = x[i + j] > lane_max[j] ? x[i + j] : lane_max[j];           \
            for (int j = 0; i + j < C; j++)                                                  \
                lane_max[j] = x[i + j] > lane_max[j] ? x[i + j] : lane_max[j];               \
            T m = -INFINITY;                                                                 \
            for (int j = 0; j < NR_CE_LANES; j++) m = lane_max[j] > m ? lane_max[j] : m;     \
            /* the comparisons above skip NaN; one cheap scan restores propagation */       \
            for (i = 0; i < C; i++) has_nan |= (x[i] != x[i]);                               \
            if (has_nan) m = NAN;                                                            \
            if (m == -INFINITY) m = 0; /* all -inf: lse = -inf, as log(0) */                 \
            double lane_sum[32], lane_wx[32];                                                \
            for (int j = 0; j < 32; j++) { lane_sum[j] = 0.0; lane_wx[j] = 0.0; }            \
            i = 0;                                                                           \
            for (; i + 32 <= C; i += 32) {                                                   \
                T e[32];                                                                     \
                for (int j = 0; j < 32; j++) e[j] = EXP(x[i + j] - m);                       \
                for (int j = 0; j < 32; j++) lane_sum[j] += e[j];                            \
            }                                                                                \
            for (int j = 0; i + j < C; j++) lane_sum[j] += EXP(x[i + j] - m);                \
            for (int s = 16; s >= 1; s /= 2)                                                 \
                for (int j = 0; j < s; j++) lane_sum[j] += lane_sum[j + s];                  \
            const double lse = (double)m + log(lane_sum[0]);                                 \
            const double wt = w ? (double)w[t] : 1.0;                                        \
            const double nll = wt * (lse - (double)x[t]);                                    \
            double sm = 0.0;                                                                 \
            if (a->smooth) {                                                                 \
                i = 0;                                                                       \
                if (w) {                                                                     \
                    for (; i + 32 <= C; i += 32)                                             \
                        for (int j = 0; j < 32; j++)                                         \
                            lane_wx[j] += (double)w[i + j] * (double)x[i + j];               \
                    for (int j = 0; i + j < C; j++)                                          \
                        lane_wx[j] += (double)w[i + j] * (double)x[i + j];                   \
                } else {                                                                     \
                    for (; i + 32 <= C; i += 32)                                             \
                        for (int j = 0; j < 32; j++) lane_wx[j] += (double)x[i + j];         \
                    for (int j = 0; i + j < C; j++) lane_wx[j] += (double)x[i + j];          \
                }                                                                            \
                for (int s = 16; s >= 1; s /= 2)                                             \
                    for (int j = 0; j < s; j++) lane_wx[j] += lane_wx[j + s];                \
                sm = lse * a->w_total - lane_wx[0];                                          \
            }                                                                                \
            lse_o[r] = (T)lse;                                                               \
            nll_o[r] = (T)nll;                                                               \
            sm_o[r] = (T)sm;                                                                 \
            wt_o[r] = (T)wt;                                                                 \
            loss_o[r] = (T)((1.0 - a->ls) * nll + (a->ls / (double)C) * sm);                 \
        }                                                                                    \
    }                                                                                        \
                                                                                             \
    NR_REDUCE_CLONES static void nr_ce_bwd_rows_##SUF(const nr_ce_args *a, ptrdiff_t r0,     \
                                                      ptrdiff_t r1)                          \
    {                                                                                        \
        const ptrdiff_t C = a->c;                                                            \
        const T *w = (const T *)a->w;                                                        \
        const T *lse_i = (const T *)a->lse;                                                  \
        const T *gout = (const T *)a->gout;                                                  \
        for (ptrdiff_t r = r0; r < r1; r++) {                                                \
            const T *x = (const T *)a->x + r * C;                                            \
            T *gx = (T *)a->gx + r * C;                                                      \
            const int64_t t = a->t[r];                                                       \
            if (t == a->ignore) {                                                            \
                for (ptrdiff_t i = 0; i < C; i++) gx[i] = 0;                                 \
                continue;                                                                    \
            }                                                                                \
            const double g = gout ? (double)gout[r] : 1.0;                                   \
            const double alpha = a->ca * g * (w ? (double)w[t] : 1.0);                       \
            const T beta = (T)(a->cb * g);                                                   \
            const T scale = (T)(alpha + a->cb * g * a->w_total);                             \
            const T l = lse_i[r];                                                            \
            if (w) {                                                                         \
                for (ptrdiff_t i = 0; i < C; i++)                                            \
                    gx[i] = EXP(x[i] - l) * scale - beta * w[i];                             \
            } else {                                                                         \
                for (ptrdiff_t i = 0; i < C; i++) gx[i] = EXP(x[i] - l) * scale - beta;      \
            }                                                                                \
            gx[t] -= (T)alpha;                                                               \
        }                                                                                    \
    }

NR_CE_KERNELS(f32, float, nr_reduce_expf)
NR_CE_KERNELS(f64, double, nr_reduce_exp)

typedef struct {
    const nr_ce_args *a;
    int f64;
    int backward;
} nr_ce_job;

static void nr_ce_part(const void *ctx, int part, int parts)
{
    const nr_ce_job *job = (const nr_ce_job *)ctx;
    ptrdiff_t r0, r1;
    nr_split_range(job->a->n, parts, part, &r0, &r1);
    if (job->backward) {
        if (job->f64) nr_ce_bwd_rows_f64(job->a, r0, r1);
        else nr_ce_bwd_rows_f32(job->a, r0, r1);
    } else {
        if (job->f64) nr_ce_fwd_rows_f64(job->a, r0, r1);
        else nr_ce_fwd_rows_f32(job->a, r0, r1);
    }
}

/* Returns the first row whose target is neither in [0, C) nor ignore, or -1. */
static ptrdiff_t nr_ce_check_targets(const int64_t *t, ptrdiff_t n, ptrdiff_t c, int64_t ignore)
{
    for (ptrdiff_t r = 0; r < n; r++)
        if (t[r] != ignore && (t[r] < 0 || t[r] >= c)) return r;
    return -1;
}

static void nr_ce_run(const nr_ce_args *a, int f64, int backward, int max_threads)
{
    nr_ce_job job = {a, f64, backward};
    int nt = (a->n * a->c < NR_PARALLEL_MIN_WORK || a->n < 2) ? 1 : max_threads;
    if (nt > a->n) nt = (int)a->n;
    nr_run_parts(nt, nr_ce_part, &job);
}

#endif
