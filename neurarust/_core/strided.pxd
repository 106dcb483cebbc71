# Cython view of include/nr_strided.h: the one strided iterator every CPU
# kernel uses.  Usage (see elementwise.pyx):
#
#     cdef nr_iter it
#     nr_iter_init(&it, nop, out_ndim, out_shape)
#     nr_iter_set_operand(&it, k, data_k, itemsize_k, ndim_k, shape_k, strides_k)  # per operand, 0 = out
#     nr_iter_simplify(&it)          # elementwise only: reorders/merges/flips dims
#     nr_iter_run(&it, loop, ctx, nthreads, grain)
from numpy cimport npy_intp

cdef extern from "nr_strided.h" nogil:
    enum:
        NR_MAX_DIMS
        NR_MAX_OPERANDS
        NR_HAVE_CLONES

    ctypedef void (*nr_inner_loop)(char **data, const npy_intp *strides, npy_intp n,
                                   const void *ctx) noexcept nogil

    ctypedef struct nr_iter:
        int nop
        int ndim
        int empty
        int tiled

    void nr_iter_init(nr_iter *it, int nop, int ndim, const npy_intp *shape)
    int nr_iter_set_operand(nr_iter *it, int op, char *data, int itemsize,
                            int ndim, const npy_intp *shape, const npy_intp *strides)
    npy_intp nr_iter_size(const nr_iter *it)
    void nr_iter_simplify(nr_iter *it)
    void nr_iter_run(const nr_iter *it, nr_inner_loop fn, const void *ctx,
                     int nthreads, npy_intp grain)
    int nr_operands_conflict(const char *out, int out_ndim, const npy_intp *out_shape,
                             const npy_intp *out_strides, int out_itemsize,
                             const char *inp, int in_ndim, const npy_intp *in_shape,
                             const npy_intp *in_strides, int in_itemsize)
