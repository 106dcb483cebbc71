"""Gradient clipping: ``clip_grad_norm_``, ``clip_grad_value_`` and their building blocks."""
from __future__ import annotations

import math
from typing import Iterable, List, Optional, Union

from ..._core.tensor_base import TensorBase
from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]

_Tensors = Union[Tensor, Iterable[Tensor]]


def _as_list(tensors: _Tensors) -> List[Tensor]:
    return [tensors] if isinstance(tensors, TensorBase) else list(tensors)


def get_total_norm(tensors: _Tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: Optional[bool] = None) -> Tensor:
    """The ``norm_type``-norm of all ``tensors`` taken together as one vector.

    Example:
        >>> import neurarust as nr
        >>> nr.nn.utils.get_total_norm([nr.tensor([3.0]), nr.tensor([4.0])])
        tensor(5.)
    """
    from ...ops.creation import tensor as make
    from ...ops.indexing import stack
    from ...ops.reduction import norm

    tensors = [t for t in _as_list(tensors) if t is not None]
    norm_type = float(norm_type)
    if not tensors:
        return make(0.0)
    with no_grad():
        # The norm of the per-tensor norms equals the norm of the concatenation, without a copy.
        norms = [norm(t, norm_type) for t in tensors]
        dtype = norms[0].dtype
        total = norm(stack([n.to(dtype) for n in norms]), norm_type)
    if error_if_nonfinite and not math.isfinite(total.item()):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so "
            "it cannot be clipped. To disable this error and scale the gradients by the non-finite "
            "norm anyway, set `error_if_nonfinite=False`")
    return total


def clip_grads_with_norm_(parameters: _Tensors, max_norm: float, total_norm: Tensor,
                          foreach: Optional[bool] = None) -> None:
    """Scale the gradients by ``max_norm / (total_norm + 1e-6)`` when that is below 1.

    Example:
        >>> import neurarust as nr
        >>> p = nr.nn.Parameter(nr.ones(2)); p.grad = nr.tensor([3.0, 4.0])
        >>> nr.nn.utils.clip_grads_with_norm_([p], 1.0, nr.tensor(5.0)); p.grad
        tensor([0.6000, 0.8000])
    """
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    with no_grad():
        coef = (float(max_norm) / (total_norm + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef.to(g.dtype))


def clip_grad_norm_(parameters: _Tensors, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: Optional[bool] = None) -> Tensor:
    """Rescale gradients in place so that their total norm is at most ``max_norm``.

    Returns the total norm before clipping.

    Example:
        >>> import neurarust as nr
        >>> p = nr.nn.Parameter(nr.ones(2)); p.grad = nr.tensor([3.0, 4.0])
        >>> nr.nn.utils.clip_grad_norm_(p, max_norm=1.0), p.grad
        (tensor(5.), tensor([0.6000, 0.8000]))
    """
    params = _as_list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(params, max_norm, total, foreach)
    return total


def clip_grad_value_(parameters: _Tensors, clip_value: float,
                     foreach: Optional[bool] = None) -> None:
    """Clamp every gradient to ``[-clip_value, clip_value]`` in place.

    Example:
        >>> import neurarust as nr
        >>> p = nr.nn.Parameter(nr.ones(3)); p.grad = nr.tensor([-2.0, 0.5, 3.0])
        >>> nr.nn.utils.clip_grad_value_(p, 1.0); p.grad
        tensor([-1.0000,  0.5000,  1.0000])
    """
    clip_value = float(clip_value)
    with no_grad():
        for p in _as_list(parameters):
            if p.grad is not None:
                p.grad.clamp_(-clip_value, clip_value)
