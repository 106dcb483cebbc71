# Large C-ordered arrays whose pages are reused across steps (host_memory.pyx).
from numpy cimport ndarray, npy_intp

cdef ndarray empty_array(int nd, npy_intp* dims, int typenum)
cpdef ndarray empty(object shape, object dtype)
