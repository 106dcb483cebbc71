"""Adagrad."""
from __future__ import annotations

from typing import Any, Dict, Iterable, Optional, Union

from .._core.tensor_base import TensorBase
from ..dtypes import float32
from ..ops.creation import full_like, tensor
from .optimizer import Optimizer, bump, fused_backend

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (torch's ``Adagrad``, dense gradients).

    For each parameter :math:`\theta` with gradient :math:`g` (negated when
    ``maximize``), at step :math:`t` (starting at 1)::

        clr = lr / (1 + (t - 1) * lr_decay)
        g = g + weight_decay * theta                  (if weight_decay != 0)
        s = s + g * g                                 (sum)
        theta = theta - clr * g / (sqrt(s) + eps)

    State per parameter (created at construction, like torch): ``step`` and
    ``sum`` (filled with ``initial_accumulator_value``).

    Example:
        >>> import neurarust as nr
        >>> from neurarust.optim import Adagrad
        >>> w = nr.tensor([1.0, -3.0], requires_grad=True)
        >>> opt = Adagrad([w], lr=0.5)
        >>> (w * w).sum().backward(); opt.step(); w
        tensor([ 0.5000, -2.5000], requires_grad=True)
    """

    def __init__(self, params: Union[Iterable[TensorBase], Iterable[Dict[str, Any]]],
                 lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10,
                 foreach: Optional[bool] = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: Optional[bool] = None) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if differentiable:
            raise NotImplementedError("Adagrad: differentiable=True is not supported")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)  # add_param_group creates the state

    def _init_state(self, p: TensorBase, group: Dict[str, Any]) -> Dict[str, Any]:
        state = self.state[p]
        if len(state) == 0:
            state["step"] = tensor(0.0, dtype=float32)
            state["sum"] = full_like(p, group["initial_accumulator_value"])
        return state

    def add_param_group(self, param_group: Dict[str, Any]) -> None:
        super().add_param_group(param_group)
        for p in self.param_groups[-1]["params"]:
            self._init_state(p, self.param_groups[-1])

    def _update_group(self, group: Dict[str, Any]) -> None:
        lr, lr_decay, wd = group["lr"], group["lr_decay"], group["weight_decay"]
        eps, maximize = group["eps"], group["maximize"]
        for p in group["params"]:
            g = p._grad
            if g is None:
                continue
            self._check_grad("Adagrad", p, g)
            state = self._init_state(p, group)
            step_t, s = state["step"], state["sum"]
            step_t.add_(1)
            clr = lr / (1 + (step_t.item() - 1) * lr_decay)
            kernel = fused_backend(p, "adagrad_step_")
            if kernel is not None and kernel(p._data, g._data, s._data, clr, wd, eps, maximize):
                bump(p, s)
                continue
            # Tensor-op path for dtypes and devices without a fused kernel.
            g = -g if maximize else g
            if wd != 0:
                g = g + wd * p
            s.add_(g * g)
            p.add_(g / (s.sqrt().add_(eps)), alpha=-clr)
