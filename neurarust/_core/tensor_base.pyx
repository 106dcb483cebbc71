# cython: language_level=3
"""The C-level core of every Tensor: storage, layout, dtype, device and autograd slots.

Attribute access here costs a C field read, which is what keeps small ops
cheap; everything with logic lives in Python (``neurarust.tensor``).
"""


import numpy as _np


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


cdef class GradModeState:
    """Whether ops record the autograd graph; read in C by the fast paths below."""

    def __init__(self):
        self.enabled = True
        self.inference = False


GRAD_MODE = GradModeState()
cdef GradModeState _grad_mode = GRAD_MODE


# ------------------------------------------------------------------ fast paths
# Small ops are dominated by dispatch, not arithmetic.  When nothing needs a
# graph and the operands need no promotion, the operators below go straight
# to the device's backend; anything else falls back to the full Python op,
# which owns type promotion, error messages and autograd.

cdef object _tensor_cls = None
cdef object _bool_dtype = None
cdef object _half_dtype = None
cdef dict _fallbacks = {}
cdef frozenset _COMPARISONS = frozenset({"eq", "ne", "lt", "le", "gt", "ge"})


def register_fast_paths(tensor_cls, bool_dtype, half_dtype, dict fallbacks):
    """Called once by ``neurarust._tensor_methods`` with the Python-level implementations."""
    global _tensor_cls, _bool_dtype, _half_dtype, _fallbacks
    _tensor_cls = tensor_cls
    _bool_dtype = bool_dtype
    _half_dtype = half_dtype
    _fallbacks = fallbacks


cdef object _fast_binary(str op, object a, object b):
    """The result of ``op(a, b)``, or None when the full Python path is needed."""
    cdef TensorBase ta, tb
    cdef object dtype, backend, b_data, out
    if not isinstance(a, TensorBase):
        return None
    ta = <TensorBase>a
    dtype = ta._dtype
    if dtype is _half_dtype:
        return None
    if _grad_mode.enabled and ta._requires_grad:
        return None
    backend = ta._device._backend
    if backend is None:
        return None
    if isinstance(b, TensorBase):
        tb = <TensorBase>b
        if tb._dtype is not dtype or tb._device is not ta._device:
            return None
        if _grad_mode.enabled and tb._requires_grad:
            return None
        b_data = tb._data
    elif type(b) is float:
        if not dtype.is_floating_point:
            return None
        b_data = backend.scalar_array(b, dtype.numpy)
    elif type(b) is int:
        # Python ints keep the tensor's dtype; only int64/float tensors hold any value safely.
        if dtype.name != "int64" and not dtype.is_floating_point:
            return None
        if not -9223372036854775808 <= b <= 9223372036854775807:
            return None
        b_data = backend.scalar_array(b, dtype.numpy)
    else:
        return None
    if op == "div" and not dtype.is_floating_point:
        return None
    if op == "sub" and dtype is _bool_dtype:
        return None
    try:
        out = backend.binary(op, ta._data, b_data)
    except (ValueError, TypeError, ZeroDivisionError):
        return None  # the Python path raises the user-facing error
    return make_tensor(_tensor_cls, out, _bool_dtype if op in _COMPARISONS else dtype, ta._device)


cdef tuple _NUMBER_TYPES = (int, float, bool, _np.number, _np.bool_)


def _binary_method(str op):
    def method(self, other):
        result = _fast_binary(op, self, other)
        if result is not None:
            return result
        if not isinstance(other, TensorBase) and not isinstance(other, _NUMBER_TYPES):
            return NotImplemented
        return _fallbacks[op](self, other)
    method.__name__ = f"__{op}__"
    return method


tensor_add = _binary_method("add")
tensor_sub = _binary_method("sub")
tensor_mul = _binary_method("mul")
tensor_div = _binary_method("div")
tensor_eq = _binary_method("eq")
tensor_ne = _binary_method("ne")
tensor_lt = _binary_method("lt")
tensor_le = _binary_method("le")
tensor_gt = _binary_method("gt")
tensor_ge = _binary_method("ge")
