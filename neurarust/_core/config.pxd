# Thread count shared by every kernel module: cimport it, don't copy it.
cdef int nr_num_threads() noexcept nogil
