"""Stochastic gradient descent (with momentum, Nesterov, weight decay)."""
from __future__ import annotations

from typing import Any, Dict, Iterable, Optional, Union

from .._core.tensor_base import TensorBase
from ..ops.creation import zeros_like
from .optimizer import Optimizer, bump, fused_backend

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum (torch's ``SGD``).

    For each parameter :math:`\theta` with gradient :math:`g_t` (negated when
    ``maximize``)::

        g_t = g_t + weight_decay * theta                      (if weight_decay != 0)
        if momentum != 0:
            b_t = g_t                                         (first step)
            b_t = momentum * b_{t-1} + (1 - dampening) * g_t  (later steps)
            g_t = g_t + momentum * b_t   if nesterov   else   b_t
        theta = theta - lr * g_t

    State per parameter: ``momentum_buffer`` (only when ``momentum != 0``).
    float32/float64 CPU parameters update in one fused pass.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.optim import SGD
        >>> w = nr.tensor([1.0, -1.0], requires_grad=True)
        >>> opt = SGD([w], lr=0.5, momentum=0.9)
        >>> for _ in range(2):
        ...     opt.zero_grad(); (w * w).sum().backward(); opt.step()
        >>> w
        tensor([-0.9000,  0.9000], requires_grad=True)
    """

    def __init__(self, params: Union[Iterable[TensorBase], Iterable[Dict[str, Any]]],
                 lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: Optional[bool] = None, differentiable: bool = False,
                 fused: Optional[bool] = None) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        if differentiable:
            raise NotImplementedError("SGD: differentiable=True is not supported")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def _update_group(self, group: Dict[str, Any]) -> None:
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        wd, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
        for p in group["params"]:
            g = p._grad
            if g is None:
                continue
            self._check_grad("SGD", p, g)
            buf, first = None, False
            if momentum != 0:  # plain SGD keeps no state, like torch
                state = self.state[p]
                buf = state.get("momentum_buffer")
                first = buf is None
                if first:
                    # Filled by this step (the kernel writes the first gradient in).
                    buf = state["momentum_buffer"] = zeros_like(p)
            kernel = fused_backend(p, "sgd_step_")
            if kernel is not None and kernel(p._data, g._data, None if buf is None else buf._data,
                                             lr, momentum, dampening, wd, nesterov, maximize, first):
                bump(p, buf)
                continue
            self._generic(p, g, buf, first, lr, momentum, dampening, wd, nesterov, maximize)

    @staticmethod
    def _generic(p, g, buf, first, lr, momentum, dampening, wd, nesterov, maximize):
        """The update with tensor ops, for dtypes and devices without a fused kernel."""
        g = -g if maximize else g
        if wd != 0:
            g = g + wd * p
        if buf is not None:
            if first:
                buf.copy_(g)
            else:
                buf.mul_(momentum).add_(g, alpha=1 - dampening)
            g = g + momentum * buf if nesterov else buf
        p.add_(g, alpha=-lr)
