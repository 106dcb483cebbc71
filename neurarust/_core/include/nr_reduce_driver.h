/* Drivers that walk an nr_plan and call the per-dtype kernels.
 *
 * Two strategies, picked by layout (nr_plan_prefers_rows):
 *
 *  "runs"  the innermost reduced dim is the most contiguous one: each
 *          output folds its runs (1-D strided pieces, cut into blocks of
 *          NR_RUN_BLOCK) with vectorized lane accumulators.  Block partials
 *          meet pairwise inside fixed "chunks" of blocks, chunk results meet
 *          pairwise again.  Threads take whole outputs or, when there are
 *          too few outputs, whole chunks; either way the arithmetic is the
 *          same, so results do not depend on the thread count.
 *
 *  "rows"  a kept dim is the most contiguous one: each tile of that dim is
 *          an accumulator vector and every reduced position adds a whole row
 *          into it (vectorized over the contiguous dim), eight rows per pass.
 *          Rows are folded in blocks of NR_ROW_BLOCK, blocks into fixed
 *          chunks, chunks into the total, always in row order.  Threads take tiles or, when there
 *          are too few tiles, chunks.
 */
#ifndef NR_REDUCE_DRIVER_H
#define NR_REDUCE_DRIVER_H

#include "nr_reduce_kernels.h"

#define NR_ROW_BLOCK 256
#ifndef NR_ROW_TILE
#define NR_ROW_TILE 4096
#endif
/* Chunks hold at least this many elements (so per-chunk overhead is noise)
 * and there are at most NR_MAX_CHUNKS of them (bounding scratch memory). */
#define NR_CHUNK_MIN_ELEMS ((ptrdiff_t)1 << 16)
#define NR_MAX_CHUNKS 256

typedef struct {
    const nr_reduce_kernel *k;
    const nr_plan *p;
    const char *a;
    char *out;
    ptrdiff_t out_itemsize;
    const double *center; /* one float64 per output, C order; NULL unless the op is centered */
} nr_reduce_job;

static inline ptrdiff_t nr_min_pd(ptrdiff_t a, ptrdiff_t b) { return a < b ? a : b; }
static inline ptrdiff_t nr_max_pd(ptrdiff_t a, ptrdiff_t b) { return a > b ? a : b; }

static int nr_plan_prefers_rows(const nr_plan *p)
{
    if (p->n_kept == 0) return 0;
    if (p->n_red == 0) return 1;
    ptrdiff_t kept_key = nr_stride_key(p->kept_a[p->n_kept - 1]);
    ptrdiff_t red_key = nr_stride_key(p->red_a[p->n_red - 1]);
    ptrdiff_t width = p->kept_size[p->n_kept - 1];
    ptrdiff_t run = p->red_size[p->n_red - 1];
    /* A very narrow kept dim makes rows too short to amortise a call each;
     * very short runs make the per-run overhead dominate.  */
    if (kept_key < red_key) return width >= 8 || run < 64;
    return run < 16 && width >= 16;
}

static inline const double *nr_center_at(const nr_reduce_job *job, ptrdiff_t out_off)
{
    return job->center ? job->center + out_off / job->out_itemsize : NULL;
}

/* ---------------------------------------------------------------- runs -- */

typedef struct {
    const nr_reduce_job *job;
    ptrdiff_t run_len, run_stride;
    int n_outer_red;
    ptrdiff_t blocks_per_run, total_blocks, chunk_blocks, n_chunks;
} nr_runs;

static void nr_runs_setup(nr_runs *c, const nr_reduce_job *job)
{
    const nr_plan *p = job->p;
    c->job = job;
    /* No reduced dim left (all had size 1): every output is one element. */
    c->run_len = p->n_red ? p->red_size[p->n_red - 1] : 1;
    c->run_stride = p->n_red ? p->red_a[p->n_red - 1] : 0;
    c->n_outer_red = p->n_red ? p->n_red - 1 : 0;
    c->blocks_per_run = nr_ceil_div(c->run_len, NR_RUN_BLOCK);
    c->total_blocks = (p->red_count / c->run_len) * c->blocks_per_run;
    ptrdiff_t block_len = nr_min_pd(c->run_len, NR_RUN_BLOCK);
    c->chunk_blocks = nr_max_pd(nr_ceil_div(NR_CHUNK_MIN_ELEMS, block_len),
                                nr_ceil_div(c->total_blocks, NR_MAX_CHUNKS));
    c->n_chunks = nr_ceil_div(c->total_blocks, c->chunk_blocks);
}

static void nr_runs_chunk(const nr_runs *c, const char *base, const double *center,
                          ptrdiff_t chunk, nr_acc *result)
{
    const nr_plan *p = c->job->p;
    const nr_reduce_kernel *k = c->job->k;
    ptrdiff_t b = chunk * c->chunk_blocks;
    ptrdiff_t b_end = nr_min_pd(b + c->chunk_blocks, c->total_blocks);
    ptrdiff_t block_in_run = b % c->blocks_per_run;
    nr_odometer it;
    nr_pairwise pw;
    nr_odo_seek(&it, c->n_outer_red, p->red_size, p->red_a, NULL, b / c->blocks_per_run);
    nr_pw_start(&pw);
    for (; b < b_end; b++) {
        ptrdiff_t start = block_in_run * NR_RUN_BLOCK;
        ptrdiff_t len = nr_min_pd(NR_RUN_BLOCK, c->run_len - start);
        nr_acc v;
        k->run(&v, base + it.off_a + start * c->run_stride, len, c->run_stride, center);
        nr_pw_push(&pw, k->combine, &v);
        if (++block_in_run == c->blocks_per_run) {
            block_in_run = 0;
            nr_odo_next(&it, c->n_outer_red, p->red_size, p->red_a, NULL);
        }
    }
    if (!nr_pw_finish(&pw, k->combine, result)) k->init(result, 1);
}

static void nr_runs_output(const nr_runs *c, const char *base, const double *center,
                           nr_acc *result)
{
    const nr_reduce_kernel *k = c->job->k;
    if (c->total_blocks == 1) { /* same value the chunk path would produce */
        k->run(result, base, c->run_len, c->run_stride, center);
        return;
    }
    nr_pairwise pw;
    nr_pw_start(&pw);
    for (ptrdiff_t ch = 0; ch < c->n_chunks; ch++) {
        nr_acc v;
        nr_runs_chunk(c, base, center, ch, &v);
        nr_pw_push(&pw, k->combine, &v);
    }
    if (!nr_pw_finish(&pw, k->combine, result)) k->init(result, 1);
}

static void nr_runs_part(const void *ctx, int part, int parts)
{
    const nr_runs *c = (const nr_runs *)ctx;
    const nr_reduce_job *job = c->job;
    const nr_plan *p = job->p;
    ptrdiff_t begin, end;
    nr_odometer it;
    nr_split_range(p->out_count, parts, part, &begin, &end);
    if (begin >= end) return;
    nr_odo_seek(&it, p->n_kept, p->kept_size, p->kept_a, p->kept_o, begin);
    for (ptrdiff_t o = begin; o < end; o++) {
        const double *center = nr_center_at(job, it.off_o);
        nr_acc result;
        nr_runs_output(c, job->a + it.off_a, center, &result);
        job->k->finish(job->out + it.off_o, 0, &result, 1, center, 0);
        nr_odo_next(&it, p->n_kept, p->kept_size, p->kept_a, p->kept_o);
    }
}

static int nr_reduce_runs(const nr_reduce_job *job)
{
    const nr_plan *p = job->p;
    const nr_reduce_kernel *k = job->k;
    nr_runs c;
    nr_runs_setup(&c, job);
    int nt = nr_threads_for_work(p->out_count * p->red_count);

    if (nt > 1 && p->out_count < 2 * nt && c.n_chunks > 1) {
        nr_acc *partial = (nr_acc *)malloc((size_t)c.n_chunks * sizeof(nr_acc));
        if (!partial) return -1;
        nr_odometer it;
        nr_odo_seek(&it, p->n_kept, p->kept_size, p->kept_a, p->kept_o, 0);
        for (ptrdiff_t o = 0; o < p->out_count; o++) {
            const char *base = job->a + it.off_a;
            const double *center = nr_center_at(job, it.off_o);
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
            for (ptrdiff_t ch = 0; ch < c.n_chunks; ch++)
                nr_runs_chunk(&c, base, center, ch, &partial[ch]);
            nr_pairwise pw;
            nr_acc result;
            nr_pw_start(&pw);
            for (ptrdiff_t ch = 0; ch < c.n_chunks; ch++) nr_pw_push(&pw, k->combine, &partial[ch]);
            nr_pw_finish(&pw, k->combine, &result);
            k->finish(job->out + it.off_o, 0, &result, 1, center, 0);
            nr_odo_next(&it, p->n_kept, p->kept_size, p->kept_a, p->kept_o);
        }
        free(partial);
        return 0;
    }

    nr_run_parts(nt, nr_runs_part, &c);
    return 0;
}

/* ---------------------------------------------------------------- rows -- */

typedef struct {
    const nr_reduce_job *job;
    ptrdiff_t width, vec_a, vec_o; /* innermost kept dim: the vector one */
    int n_outer_kept;
    ptrdiff_t rows, chunk_rows, n_chunks;
    ptrdiff_t tile, tiles_per_line, units;
    char *scratch; /* per_thread bytes for each thread */
    size_t per_thread;
} nr_rows;

/* Folds rows [chunk*chunk_rows, ...) of one tile into chunk_acc. */
static void nr_rows_chunk(const nr_rows *c, const char *col, const double *center,
                          ptrdiff_t center_stride, ptrdiff_t w, ptrdiff_t chunk,
                          void *chunk_acc, void *block_acc)
{
    const nr_plan *p = c->job->p;
    const nr_reduce_kernel *k = c->job->k;
    ptrdiff_t r = chunk * c->chunk_rows;
    ptrdiff_t r_end = nr_min_pd(r + c->chunk_rows, c->rows);
    nr_odometer it;
    nr_odo_seek(&it, p->n_red, p->red_size, p->red_a, NULL, r);
    k->init(chunk_acc, w);
    while (r < r_end) {
        ptrdiff_t block_end = nr_min_pd(r + NR_ROW_BLOCK, r_end);
        k->init(block_acc, w);
        /* Blocks start at multiples of NR_ROW_BLOCK, so the groups of eight
         * are the same however the rows are split into chunks. */
        while (r < block_end) {
            if (block_end - r >= 8) {
                const char *rows[8];
                for (int q = 0; q < 8; q++) {
                    rows[q] = col + it.off_a;
                    nr_odo_next(&it, p->n_red, p->red_size, p->red_a, NULL);
                }
                k->rowacc8(block_acc, rows, w, c->vec_a, center, center_stride);
                r += 8;
            } else {
                k->rowacc(block_acc, col + it.off_a, w, c->vec_a, center, center_stride);
                nr_odo_next(&it, p->n_red, p->red_size, p->red_a, NULL);
                r++;
            }
        }
        k->combine(chunk_acc, block_acc, w);
    }
}

typedef struct {
    const char *col;
    ptrdiff_t out_off, w, center_stride;
    const double *center;
} nr_tile_pos;

static nr_tile_pos nr_rows_locate(const nr_rows *c, ptrdiff_t unit)
{
    const nr_plan *p = c->job->p;
    nr_tile_pos t;
    nr_odometer it;
    ptrdiff_t j0 = (unit % c->tiles_per_line) * c->tile;
    nr_odo_seek(&it, c->n_outer_kept, p->kept_size, p->kept_a, p->kept_o, unit / c->tiles_per_line);
    t.col = c->job->a + it.off_a + j0 * c->vec_a;
    t.out_off = it.off_o + j0 * c->vec_o;
    t.w = nr_min_pd(c->tile, c->width - j0);
    t.center = nr_center_at(c->job, t.out_off);
    t.center_stride = c->vec_o / c->job->out_itemsize;
    return t;
}

static void nr_rows_part(const void *ctx, int part, int parts)
{
    const nr_rows *c = (const nr_rows *)ctx;
    const nr_reduce_kernel *k = c->job->k;
    size_t tile_bytes = (size_t)c->tile * sizeof(nr_acc);
    char *total = c->scratch + (size_t)part * c->per_thread;
    char *chunk_acc = total + tile_bytes, *block_acc = total + 2 * tile_bytes;
    ptrdiff_t begin, end;
    nr_split_range(c->units, parts, part, &begin, &end);
    for (ptrdiff_t u = begin; u < end; u++) {
        nr_tile_pos t = nr_rows_locate(c, u);
        k->init(total, t.w);
        for (ptrdiff_t ch = 0; ch < c->n_chunks; ch++) {
            nr_rows_chunk(c, t.col, t.center, t.center_stride, t.w, ch, chunk_acc, block_acc);
            k->combine(total, chunk_acc, t.w);
        }
        k->finish(c->job->out + t.out_off, c->vec_o, total, t.w, t.center, t.center_stride);
    }
}

static int nr_reduce_rows(const nr_reduce_job *job)
{
    const nr_plan *p = job->p;
    const nr_reduce_kernel *k = job->k;
    nr_rows c;
    c.job = job;
    c.width = p->kept_size[p->n_kept - 1];
    c.vec_a = p->kept_a[p->n_kept - 1];
    c.vec_o = p->kept_o[p->n_kept - 1];
    c.n_outer_kept = p->n_kept - 1;
    c.rows = p->red_count;
    /* Chunk sizes follow the full width, never the (thread-dependent) tile. */
    ptrdiff_t blocks = nr_ceil_div(c.rows, NR_ROW_BLOCK);
    ptrdiff_t chunk_blocks = nr_max_pd(nr_ceil_div(NR_CHUNK_MIN_ELEMS, NR_ROW_BLOCK * c.width),
                                       nr_ceil_div(blocks, NR_MAX_CHUNKS));
    c.chunk_rows = chunk_blocks * NR_ROW_BLOCK;
    c.n_chunks = nr_ceil_div(c.rows, c.chunk_rows);

    int nt = nr_threads_for_work(p->out_count * c.rows);
    ptrdiff_t lines = p->out_count / c.width;
    /* Columns are independent, so the tile width never changes a result:
     * narrow the tiles when that is what it takes to feed every thread. */
    c.tile = NR_ROW_TILE;
    if (nt > 1 && lines * nr_ceil_div(c.width, c.tile) < nt && c.width >= 64 * nt)
        c.tile = nr_ceil_div(nr_ceil_div(c.width, nt), 16) * 16;
    c.tiles_per_line = nr_ceil_div(c.width, c.tile);
    c.units = lines * c.tiles_per_line;

    size_t tile_bytes = (size_t)c.tile * sizeof(nr_acc);
    int chunk_parallel = nt > 1 && c.units < nt && c.n_chunks > 1;
    size_t per_thread = chunk_parallel ? tile_bytes : 3 * tile_bytes;
    size_t shared = chunk_parallel ? (size_t)(c.n_chunks + 1) * tile_bytes : 0;
    char *scratch = (char *)malloc(shared + (size_t)nt * per_thread);
    if (!scratch) return -1;

    if (chunk_parallel) {
        char *total = scratch, *partials = scratch + tile_bytes;
        char *block_accs = scratch + shared;
        for (ptrdiff_t u = 0; u < c.units; u++) {
            nr_tile_pos t = nr_rows_locate(&c, u);
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
            for (ptrdiff_t ch = 0; ch < c.n_chunks; ch++)
                nr_rows_chunk(&c, t.col, t.center, t.center_stride, t.w, ch,
                              partials + ch * tile_bytes,
                              block_accs + nr_thread_index() * per_thread);
            k->init(total, t.w);
            for (ptrdiff_t ch = 0; ch < c.n_chunks; ch++)
                k->combine(total, partials + ch * tile_bytes, t.w);
            k->finish(job->out + t.out_off, c.vec_o, total, t.w, t.center, t.center_stride);
        }
        free(scratch);
        return 0;
    }

    c.scratch = scratch;
    c.per_thread = per_thread;
    nr_run_parts(nt, nr_rows_part, &c);
    free(scratch);
    return 0;
}

/* Empty reductions: every output gets the identity (sum 0, prod 1, ...). */
static void nr_reduce_fill_identity(const nr_reduce_job *job)
{
    const nr_plan *p = job->p;
    nr_acc ident;
    nr_odometer it;
    job->k->init(&ident, 1);
    nr_odo_seek(&it, p->n_kept, p->kept_size, p->kept_a, p->kept_o, 0);
    for (ptrdiff_t o = 0; o < p->out_count; o++) {
        job->k->finish(job->out + it.off_o, 0, &ident, 1, nr_center_at(job, it.off_o), 0);
        nr_odo_next(&it, p->n_kept, p->kept_size, p->kept_a, p->kept_o);
    }
}

/* Returns 0, or -1 when scratch memory could not be allocated. */
static int nr_reduce_execute(const nr_reduce_job *job)
{
    if (job->p->out_count == 0) return 0;
    if (job->p->red_count == 0) {
        nr_reduce_fill_identity(job);
        return 0;
    }
    return nr_plan_prefers_rows(job->p) ? nr_reduce_rows(job) : nr_reduce_runs(job);
}

/* var = M2 / max(0, N - correction), written in the caller's float dtype. */
static void nr_var_finish(const double *m2, const double *mean, ptrdiff_t count,
                          double divisor, int is_f32, char *out, char *mean_out)
{
    for (ptrdiff_t i = 0; i < count; i++) {
        double v = m2[i] / divisor;
        if (is_f32) {
            ((float *)out)[i] = (float)v;
            if (mean_out) ((float *)mean_out)[i] = (float)mean[i];
        } else {
            ((double *)out)[i] = v;
            if (mean_out) ((double *)mean_out)[i] = mean[i];
        }
    }
}

#endif /* NR_REDUCE_DRIVER_H */
