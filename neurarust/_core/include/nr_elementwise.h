/* Everything elementwise.pyx needs, plus bounds-checked table lookups so a
 * bad op code or dtype index can only ever produce NULL. */
#ifndef NR_ELEMENTWISE_H
#define NR_ELEMENTWISE_H

#include "nr_strided.h"
#include "nr_elementwise_dtypes.h"
#include "nr_elementwise_binary.h"
#include "nr_elementwise_unary.h"
#include "nr_elementwise_select.h"
#include "nr_elementwise_copy.h"

static inline nr_inner_loop nr_binary_loop_for(int op, int dtype)
{
    if (op < 0 || op >= NR_BINARY_NOPS || dtype < 0 || dtype >= NR_NUMERIC_DTYPES) return NULL;
    return nr_binary_loops[op][dtype];
}

static inline nr_inner_loop nr_unary_loop_for(int op, int dtype)
{
    if (op < 0 || op >= NR_UNARY_NOPS || dtype < 0 || dtype >= NR_NUMERIC_DTYPES) return NULL;
    return nr_unary_loops[op][dtype];
}

/* kind: 0 lo only, 1 hi only, 2 both. */
static inline nr_inner_loop nr_clamp_loop_for(int kind, int dtype)
{
    if (kind < 0 || kind > 2 || dtype < 0 || dtype >= NR_NUMERIC_DTYPES) return NULL;
    return nr_clamp_loops[kind][dtype];
}

static inline nr_inner_loop nr_lerp_loop_for(int dtype)
{
    return dtype == NR_FLOAT32 ? nr_lerp_float32 : dtype == NR_FLOAT64 ? nr_lerp_float64 : NULL;
}

static inline nr_inner_loop nr_nan_to_num_loop_for(int dtype)
{
    return dtype == NR_FLOAT32 ? nr_nan_to_num_float32
         : dtype == NR_FLOAT64 ? nr_nan_to_num_float64 : NULL;
}

static inline nr_inner_loop nr_copy_loop_for(int src_dtype, int dst_dtype, int itemsize)
{
    if (src_dtype < 0 || src_dtype >= NR_NDTYPES || dst_dtype < 0 || dst_dtype >= NR_NDTYPES) return NULL;
    if (src_dtype == dst_dtype) return nr_move_loop(itemsize);
    return nr_cast_loops[src_dtype][dst_dtype];
}

#endif /* NR_ELEMENTWISE_H */
