# Thread count shared by every kernel module: cimport it, don't copy it.
cdef int nr_num_threads() noexcept nogil
# Threads a BLAS product may be split over: 1 unless scipy's BLAS runs single-threaded
# (see parallel_blas.pxd), so that two thread pools never compete.
cdef int nr_blas_split_threads() noexcept nogil
