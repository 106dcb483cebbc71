# cython: language_level=3
"""The C-level core of every Tensor: storage, layout, dtype, device and autograd slots.

Attribute access here costs a C field read, which is what keeps small ops
cheap; everything with logic lives in Python (``neurarust.tensor``).
"""


cdef class VersionCounter:
    """Counts in-place writes to a storage; shared by all views of it."""

    def __init__(self):
        self.value = 0

    def bump(self):
        self.value += 1


cdef class TensorBase:
    """Storage + layout + dtype + device, with the fields autograd needs."""

    def __cinit__(self):
        self._output_nr = 0
        self._requires_grad = False
        self._retains_grad = False

    @property
    def shape(self):
        return _Size(self._data.shape)

    @property
    def dtype(self):
        return self._dtype

    @property
    def device(self):
        return self._device

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        """Number of dimensions.

        Example:
            >>> import neurarust as nr
            >>> nr.zeros(2, 3).dim()
            2
        """
        return self._data.ndim

    def numel(self):
        """Number of elements.

        Example:
            >>> import neurarust as nr
            >>> nr.zeros(2, 3).numel()
            6
        """
        return self._data.size

    def nelement(self):
        return self._data.size

    def size(self, dim=None):
        """The shape, or the size of one dimension.

        Example:
            >>> import neurarust as nr
            >>> nr.zeros(2, 3).size(), nr.zeros(2, 3).size(-1)
            (neurarust.Size([2, 3]), 3)
        """
        if dim is None:
            return _Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim, "size")]

    @property
    def requires_grad(self):
        return self._requires_grad

    @property
    def grad_fn(self):
        return self._grad_fn

    @property
    def is_leaf(self):
        return self._grad_fn is None

    @property
    def _version(self):
        return self._version_counter.value

    @property
    def output_nr(self):
        return self._output_nr


class _Size(tuple):
    """The shape of a tensor: a tuple that prints like ``torch.Size``."""

    def __repr__(self):
        return f"neurarust.Size({list(self)})"

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, key):
        result = tuple.__getitem__(self, key)
        return _Size(result) if isinstance(key, slice) else result

    def __add__(self, other):
        return _Size(tuple.__add__(self, tuple(other)))


Size = _Size


cpdef Py_ssize_t _wrap_dim(object dim, Py_ssize_t ndim, str op) except? -1:
    """Normalise a possibly negative dim, raising IndexError like torch."""
    cdef Py_ssize_t d
    cdef Py_ssize_t n = ndim if ndim > 0 else 1
    try:
        d = dim.__index__()
    except AttributeError:
        raise TypeError(f"{op}(): dim must be an int, got {type(dim).__name__}") from None
    if d < -n or d >= n:
        from neurarust.errors import TensorIndexError
        raise TensorIndexError(
            f"{op}(): dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
    return d + n if d < 0 else d


cpdef TensorBase make_tensor(type cls, object data, object dtype, object device,
                             VersionCounter version=None, object base=None):
    """Build a tensor around a backend array without running Python __init__."""
    cdef TensorBase t = TensorBase.__new__(cls)
    t._data = data
    t._dtype = dtype
    t._device = device
    t._version_counter = version if version is not None else VersionCounter()
    t._base = base
    return t
