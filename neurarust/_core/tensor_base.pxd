cdef class VersionCounter:
    cdef public long long value


cdef class TensorBase:
    # Backend array (a numpy view on CPU): shape, strides and offset live here.
    cdef public object _data
    # Flat buffer shared by every view of the same memory; resolved lazily.
    cdef public object _storage_cache
    cdef public object _dtype
    cdef public object _device
    # Autograd fields: plain data here, all logic lives in neurarust.autograd.
    cdef public bint _requires_grad
    cdef public object _grad
    cdef public object _grad_fn
    cdef public int _output_nr
    cdef public VersionCounter _version_counter
    cdef public object _base
    cdef public bint _retains_grad
    cdef public object _hooks
    cdef public object _grad_accumulator
    cdef object __weakref__


cdef class GradModeState:
    cdef public bint enabled
    cdef public bint inference
