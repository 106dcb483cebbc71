"""The user-facing ``Tensor``.

A tensor is a storage (a flat buffer), a layout (shape, strides, offset), a
dtype and a device, plus autograd fields; those live in the Cython
``TensorBase``.  This class adds the PyTorch API.  Math methods are the
functions of ``neurarust.ops`` bound as methods (see the end of this file), so
``x.exp()`` and ``nr.exp(x)`` are one code path.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from ._core.tensor_base import Size, TensorBase, make_tensor
from .device import as_device, backend_for
from .dtypes import as_dtype, bool_, float16, float32, float64, int32, int64
from .errors import AutogradError, DeviceConversionError, DeviceError, ShapeError
from .ops import _util

__all__ = ["Tensor", "Size"]


class Tensor(TensorBase):
    """A multi-dimensional array with autograd; see ``neurarust.tensor()`` to create one.

    Example:
        >>> import neurarust as nr
        >>> x = nr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        >>> y = (x.T @ x).sum(); y.backward(); x.grad
        tensor([[ 6.,  6.],
                [14., 14.]])
    """

    __array_priority__ = 1000  # numpy defers to our reflected operators

    def __new__(cls, *args, **kwargs):
        # torch.Tensor(2, 3) makes an uninitialised float tensor; torch.Tensor([..]) copies data.
        from .ops.creation import empty, tensor

        if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
            t = tensor(args[0], dtype=float32)
        else:
            t = empty(*args, **kwargs)
        if cls is not Tensor:
            t = make_tensor(cls, t._data, t._dtype, t._device)
        return t

    def __init__(self, *args, **kwargs):
        pass

    # -------------------------------------------------------------- layout
    def stride(self, dim: Optional[int] = None):
        """Strides in elements.

        Example:
            >>> import neurarust as nr
            >>> nr.zeros(2, 3).stride(), nr.zeros(2, 3).t().stride()
            ((3, 1), (1, 3))
        """
        strides = backend_for(self._device).element_strides(self._data)
        if dim is None:
            return strides
        return strides[_util.wrap_dim(dim, self.ndim, "stride")]

    def _root(self):
        return self._base if self._base is not None else self

    def _storage(self):
        root = self._root()
        if root._storage_cache is None:
            root._storage_cache = backend_for(root._device).storage_of(root._data)
        return root._storage_cache

    def storage_offset(self) -> int:
        """Offset of the first element in the storage, in elements.

        Example:
            >>> import neurarust as nr
            >>> nr.arange(6)[2:].storage_offset()
            2
        """
        b = backend_for(self._device)
        return (b.data_ptr(self._data) - b.data_ptr(self._storage())) // self._dtype.itemsize

    def data_ptr(self) -> int:
        """Address of the first element.

        Example:
            >>> import neurarust as nr
            >>> x = nr.arange(4); x[1:].data_ptr() - x.data_ptr()
            8
        """
        return backend_for(self._device).data_ptr(self._data)

    def is_contiguous(self, memory_format=None) -> bool:
        """Whether the layout is C-contiguous (row-major, no gaps).

        Example:
            >>> import neurarust as nr
            >>> nr.zeros(2, 3).t().is_contiguous()
            False
        """
        return backend_for(self._device).is_c_contiguous(self._data)

    def untyped_storage(self):
        return self._storage()

    def element_size(self) -> int:
        return self._dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self._dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self._dtype.itemsize * self.numel()

    @property
    def is_cuda(self) -> bool:
        return self._device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self._device.type == "cpu"

    def is_floating_point(self) -> bool:
        return self._dtype.is_floating_point

    def get_device(self) -> int:
        return -1 if self._device.type == "cpu" else (self._device.index or 0)

    # ------------------------------------------------------------- autograd
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True):
        """Set ``requires_grad`` in place (leaves only, floating dtypes only).

        Example:
            >>> import neurarust as nr
            >>> nr.ones(2).requires_grad_().requires_grad
            True
        """
        if self._grad_fn is not None and not requires_grad:
            raise AutogradError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        if requires_grad and not self._dtype.is_floating_point:
            raise AutogradError(
                f"only Tensors of floating point dtype can require gradients, got {self._dtype}"
            )
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, TensorBase):
                raise TypeError(f"assigned grad must be a Tensor or None, got {type(value).__name__}")
            if tuple(value.shape) != tuple(self.shape):
                raise ShapeError(
                    f"assigned grad has data of a different size: {list(value.shape)} vs "
                    f"{list(self.shape)}"
                )
        self._grad = value

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after ``backward``.

        Example:
            >>> import neurarust as nr
            >>> x = nr.ones(2, requires_grad=True); y = x * 3; y.retain_grad()
            >>> y.sum().backward(); y.grad
            tensor([1., 1.])
        """
        if not self._requires_grad:
            raise AutogradError("can't retain_grad on Tensor that has requires_grad=False")
        if self._grad_fn is None or self._retains_grad:
            return
        from .autograd.engine import retain_tensor_grad

        retain_tensor_grad(self)
        self._retains_grad = True

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new grad.

        Example:
            >>> import neurarust as nr
            >>> x = nr.ones(2, requires_grad=True)
            >>> h = x.register_hook(lambda g: g * 10)
            >>> x.sum().backward(); x.grad
            tensor([10., 10.])
        """
        if not self._requires_grad:
            raise AutogradError("cannot register a hook on a tensor that doesn't require gradient")
        from .autograd.engine import register_tensor_hook

        return register_tensor_hook(self, hook)

    def backward(self, gradient=None, retain_graph: Optional[bool] = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Compute gradients of this tensor with respect to the graph leaves.

        Example:
            >>> import neurarust as nr
            >>> x = nr.tensor([1.0, 2.0], requires_grad=True)
            >>> (x ** 2).sum().backward(); x.grad
            tensor([2., 4.])
        """
        from .autograd.engine import backward

        backward(self, gradient, retain_graph, create_graph, inputs)

    def detach(self):
        """A tensor sharing storage with this one, cut from the graph.

        Example:
            >>> import neurarust as nr
            >>> nr.ones(1, requires_grad=True).detach().requires_grad
            False
        """
        return self._alias()

    def detach_(self):
        """Cut this tensor from the graph, in place."""
        if self._base is not None and self._base._requires_grad:
            raise AutogradError("Can't detach views in-place. Use detach() instead.")
        self._grad_fn = None
        self._requires_grad = False
        self._output_nr = 0
        return self

    def _alias(self):
        """Same storage, layout, dtype and version counter; no autograd history."""
        t = make_tensor(Tensor, self._data, self._dtype, self._device, self._version_counter, self._base)
        if self._base is None:
            t._storage_cache = self._storage_cache
        return t

    @property
    def data(self):
        return self._alias()

    @data.setter
    def data(self, value) -> None:
        if not isinstance(value, TensorBase):
            raise TypeError("Tensor.data must be set to a Tensor")
        self._data = value._data
        self._dtype = value._dtype
        self._device = value._device
        self._storage_cache = None
        self._base = value._base if value._base is not None else (value if value._data is not None and value is not self else None)

    # ------------------------------------------------------- conversions
    def numpy(self, *, force: bool = False) -> np.ndarray:
        """A numpy array sharing memory with this CPU tensor (views included).

        Example:
            >>> import neurarust as nr
            >>> x = nr.zeros(2, 3); a = x.t().numpy(); a[0, 1] = 5; x[1, 0].item()
            5.0
        """
        if self._requires_grad and not force:
            raise AutogradError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
            )
        if self._device.type != "cpu":
            if not force:
                raise DeviceConversionError(
                    f"can't convert {self._device} device type tensor to numpy. Use Tensor.cpu() to copy the "
                    f"tensor to host memory first."
                )
            return self.cpu().numpy()
        return backend_for(self._device).to_numpy(self._data)

    def __array__(self, dtype=None, copy=None):
        arr = self.detach().cpu().numpy()
        return arr if dtype is None else arr.astype(dtype, copy=False)

    def tolist(self):
        """The tensor as nested Python lists (a number for 0-d tensors).

        Example:
            >>> import neurarust as nr
            >>> nr.tensor([[1, 2]]).tolist()
            [[1, 2]]
        """
        return self.detach().cpu().numpy().tolist()

    def item(self):
        """The value of a one-element tensor as a Python number.

        Example:
            >>> import neurarust as nr
            >>> nr.tensor([2.5]).item()
            2.5
        """
        if self.numel() != 1:
            raise ShapeError(
                f"a Tensor with {self.numel()} elements cannot be converted to Scalar"
            )
        return self.detach().cpu().numpy().reshape(()).item()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.numel() != 1:
            raise ShapeError(
                f"Boolean value of Tensor with {'no values' if self.numel() == 0 else 'more than one value'} is ambiguous"
            )
        return bool(self.item())

    def __index__(self):
        if self._dtype.is_floating_point or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __hash__(self):
        return id(self)

    def __repr__(self):
        from ._tensor_str import tensor_repr

        return tensor_repr(self)

    __str__ = __repr__

    def __format__(self, spec):
        if self.ndim == 0 and spec:
            return self.item().__format__(spec)
        return object.__format__(self, spec) if spec else repr(self)

    def __reduce_ex__(self, protocol):
        from .ops.creation import _rebuild

        return (_rebuild, (self.detach().cpu().numpy().copy(), str(self._device), self._requires_grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        new = self.detach().clone()
        new._requires_grad = self._requires_grad
        if self._grad is not None:
            new._grad = self._grad.detach().clone()
        if type(self) is not Tensor:
            new = make_tensor(type(self), new._data, new._dtype, new._device)
            new._requires_grad = self._requires_grad
        memo[id(self)] = new
        return new

    # ------------------------------------------------------- dtype/device
    def to(self, *args, **kwargs):
        """Convert dtype and/or device: ``to(dtype)``, ``to(device)``, ``to(other)``, ``to(device, dtype)``.

        Example:
            >>> import neurarust as nr
            >>> nr.ones(2).to(nr.int64)
            tensor([1, 1])
        """
        dtype = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        copy = kwargs.pop("copy", False)
        non_blocking = bool(kwargs.pop("non_blocking", False))
        kwargs.pop("memory_format", None)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, TensorBase):
                dtype, device = a._dtype, a._device
            elif isinstance(a, bool):
                copy = a
            elif isinstance(a, str) or hasattr(a, "type") and hasattr(a, "index"):
                device = a
            elif a is not None:
                dtype = a
        from .ops.creation import _to

        return _to(self, None if dtype is None else as_dtype(dtype),
                   None if device is None else as_device(device), copy, non_blocking)

    def type(self, dtype=None):
        if dtype is None:
            return f"neurarust.{_TYPE_NAMES.get(self._dtype.name, self._dtype.name)}"
        return self.to(dtype)

    def type_as(self, other):
        """Cast to ``other``'s dtype.

        Example:
            >>> import neurarust as nr
            >>> nr.ones(1).type_as(nr.zeros(1, dtype=nr.int32)).dtype
            neurarust.int32
        """
        return self.to(other._dtype)

    def float(self):
        return self.to(float32)

    def double(self):
        return self.to(float64)

    def half(self):
        return self.to(float16)

    def int(self):
        return self.to(int32)

    def long(self):
        return self.to(int64)

    def bool(self):
        return self.to(bool_)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None, non_blocking: bool = False):
        """A copy on a CUDA device (the current one by default); ``self`` if it is already there.

        Example:
            >>> import neurarust as nr
            >>> if nr.cuda.is_available(): x = nr.ones(2).cuda()
        """
        return self.to(as_device("cuda" if device is None else device), non_blocking=non_blocking)

    def pin_memory(self, device="cuda"):
        """A copy of this CPU tensor in page-locked host memory, so ``non_blocking`` copies to ``device`` overlap.

        Example:
            >>> import neurarust as nr
            >>> if nr.cuda.is_available(): x = nr.ones(2).pin_memory()
        """
        from .ops.creation import from_numpy

        if self._device.type != "cpu":
            raise DeviceError(f"pin_memory(): cannot pin '{self._device}' memory, only CPU memory")
        pinned = backend_for(as_device(device)).pin_host(self.detach().numpy())
        return from_numpy(pinned)

    def is_pinned(self, device="cuda") -> bool:
        """Whether this CPU tensor is in page-locked memory (always False without CUDA).

        Example:
            >>> import neurarust as nr
            >>> nr.ones(2).is_pinned()
            False
        """
        if self._device.type != "cpu":
            return False
        try:
            dev_backend = backend_for(as_device(device))
        except DeviceError:
            return False
        return dev_backend.is_pinned_host(self._data)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        from .ops.creation import tensor

        return tensor(data, dtype=dtype or self._dtype, device=device or self._device, requires_grad=requires_grad)

    def _new_factory(name):
        def method(self, *size, dtype=None, device=None, requires_grad=False, **kwargs):
            from .ops import creation

            fn = getattr(creation, name)
            args = (size,) if name != "full" else (size[:-1] if len(size) > 1 else size[0], size[-1]) if False else (size,)
            return fn(*args, **kwargs, dtype=dtype or self._dtype, device=device or self._device,
                      requires_grad=requires_grad)

        method.__name__ = f"new_{name}"
        return method

    new_zeros = _new_factory("zeros")
    new_ones = _new_factory("ones")
    new_empty = _new_factory("empty")

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        from .ops.creation import full

        return full(size, fill_value, dtype=dtype or self._dtype, device=device or self._device,
                    requires_grad=requires_grad)

    del _new_factory


_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
               "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}

_util._TENSOR_CLS.append(Tensor)
