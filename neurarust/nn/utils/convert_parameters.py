"""Flatten parameters into one vector and back."""
from __future__ import annotations

from typing import Iterable

from ..._core.tensor_base import TensorBase
from ..._tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check_same_device(param: Tensor, device):
    if device is None:
        return param.device
    if param.device != device:
        raise TypeError("Found two parameters on different devices, this is currently not "
                        f"supported ({device} and {param.device}).")
    return device


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated into one 1-D tensor (differentiable).

    Example:
        >>> import neurarust as nr
        >>> nr.nn.utils.parameters_to_vector([nr.ones(2, 2), nr.zeros(1)])
        tensor([1., 1., 1., 1., 0.])
    """
    from ...ops.indexing import cat

    if isinstance(parameters, TensorBase):
        parameters = [parameters]
    device = None
    flat = []
    for p in parameters:
        device = _check_same_device(p, device)
        flat.append(p.reshape(-1))
    return cat(flat)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Make each parameter's data the matching slice of ``vec`` (the parameters then view ``vec``).

    Example:
        >>> import neurarust as nr
        >>> ps = [nr.nn.Parameter(nr.zeros(2)), nr.nn.Parameter(nr.zeros(1, 1))]
        >>> nr.nn.utils.vector_to_parameters(nr.tensor([1.0, 2.0, 3.0]), ps); ps[1]
        Parameter containing:
        tensor([[3.]], requires_grad=True)
    """
    if not isinstance(vec, TensorBase):
        raise TypeError(f"expected neurarust.Tensor, but got: {type(vec).__name__}")
    if isinstance(parameters, TensorBase):
        parameters = [parameters]
    parameters = list(parameters)
    total = sum(p.numel() for p in parameters)
    if vec.ndim != 1 or vec.numel() != total:
        raise ValueError(f"vector_to_parameters(): expected a 1-D vector of {total} elements for "
                         f"the parameters, got shape {list(vec.shape)}")
    device = None
    offset = 0
    for p in parameters:
        device = _check_same_device(p, device)
        n = p.numel()
        p.data = vec[offset:offset + n].view(tuple(p.shape)).data
        offset += n
