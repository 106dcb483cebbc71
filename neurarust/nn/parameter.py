"""``Parameter``: a tensor that a :class:`~neurarust.nn.Module` registers as learnable."""
from __future__ import annotations

import copy
from typing import Optional

from .._core.tensor_base import TensorBase, make_tensor
from .._tensor import Tensor
from ..errors import AutogradError

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A tensor that is a module parameter: assigning one to a module attribute registers it.

    It shares the data (storage and version counter) of the tensor it wraps and
    is a graph leaf; ``requires_grad`` defaults to True.  Results of ops on a
    parameter are plain tensors.

    Args:
        data: the tensor to wrap (an empty float tensor when None).
        requires_grad: whether the parameter requires gradient.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import Parameter
        >>> p = Parameter(nr.ones(2))
        >>> p
        Parameter containing:
        tensor([1., 1.], requires_grad=True)
        >>> isinstance(p, nr.Tensor), type(p * 2).__name__
        (True, 'Tensor')
    """

    def __new__(cls, data: Optional[Tensor] = None, requires_grad: bool = True):
        if data is None:
            from ..ops.creation import empty

            data = empty(0)
        if not isinstance(data, TensorBase):
            raise TypeError(f"Parameter(): data must be a Tensor, got {type(data).__name__}")
        if requires_grad and not data._dtype.is_floating_point:
            raise AutogradError("Only Tensors of floating point and complex dtype can require "
                                f"gradients, got {data._dtype}")
        # Same storage, layout and version counter as ``data``, but a fresh leaf.
        p = make_tensor(cls, data._data, data._dtype, data._device, data._version_counter,
                        data._base)
        if data._base is None:
            p._storage_cache = data._storage_cache
        p._requires_grad = bool(requires_grad)
        return p

    def __init__(self, data: Optional[Tensor] = None, requires_grad: bool = True):
        pass

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(self.detach().clone(), self._requires_grad)
        if self._grad is not None:
            result._grad = copy.deepcopy(self._grad, memo)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, protocol):
        # The wrapped tensor pickles through Tensor's own (code-free) rebuild.
        return (type(self), (self.detach(), self._requires_grad))
