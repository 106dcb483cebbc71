"""RMSprop (optionally centered, with momentum)."""
from __future__ import annotations

from typing import Any, Dict, Iterable, Optional, Union

from .._core.tensor_base import TensorBase
from ..dtypes import float32
from ..ops.creation import tensor, zeros_like
from .optimizer import Optimizer, bump, fused_backend

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (torch's ``RMSprop``).

    For each parameter :math:`\theta` with gradient :math:`g` (negated when
    ``maximize``)::

        g = g + weight_decay * theta                      (if weight_decay != 0)
        v = alpha * v + (1 - alpha) * g * g               (square_avg)
        if centered:
            a = a + (1 - alpha) * (g - a)                 (grad_avg)
            avg = sqrt(v - a * a) + eps
        else:
            avg = sqrt(v) + eps
        if momentum > 0:
            b = momentum * b + g / avg                    (momentum_buffer)
            theta = theta - lr * b
        else:
            theta = theta - lr * g / avg

    State per parameter: ``step``, ``square_avg`` and, when used,
    ``momentum_buffer`` and ``grad_avg``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.optim import RMSprop
        >>> w = nr.tensor([1.0], requires_grad=True, dtype=nr.float64)
        >>> opt = RMSprop([w], lr=0.01, alpha=0.75)
        >>> (w * w).sum().backward(); opt.step(); w
        tensor([0.9800], dtype=neurarust.float64, requires_grad=True)
    """

    def __init__(self, params: Union[Iterable[TensorBase], Iterable[Dict[str, Any]]],
                 lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0,
                 momentum: float = 0, centered: bool = False, capturable: bool = False,
                 foreach: Optional[bool] = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        if differentiable:
            raise NotImplementedError("RMSprop: differentiable=True is not supported")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _update_group(self, group: Dict[str, Any]) -> None:
        lr, alpha, eps, wd = group["lr"], group["alpha"], group["eps"], group["weight_decay"]
        momentum, centered, maximize = group["momentum"], group["centered"], group["maximize"]
        for p in group["params"]:
            g = p._grad
            if g is None:
                continue
            self._check_grad("RMSprop", p, g)
            state = self.state[p]
            if len(state) == 0:
                state["step"] = tensor(0.0, dtype=float32)
                state["square_avg"] = zeros_like(p)
                if momentum > 0:
                    state["momentum_buffer"] = zeros_like(p)
                if centered:
                    state["grad_avg"] = zeros_like(p)
            state["step"].add_(1)
            sq = state["square_avg"]
            buf = state.setdefault("momentum_buffer", zeros_like(p)) if momentum > 0 else None
            ga = state.setdefault("grad_avg", zeros_like(p)) if centered else None
            kernel = fused_backend(p, "rmsprop_step_")
            if kernel is not None and kernel(p._data, g._data, sq._data,
                                             None if ga is None else ga._data,
                                             None if buf is None else buf._data,
                                             lr, alpha, eps, wd, momentum, maximize):
                bump(p, sq, ga, buf)
                continue
            # Tensor-op path for dtypes and devices without a fused kernel.
            g = -g if maximize else g
            if wd != 0:
                g = g + wd * p
            sq.mul_(alpha).add_(g * g, alpha=1 - alpha)
            if ga is not None:
                ga.lerp_(g, 1 - alpha)
                avg = (sq - ga * ga).sqrt_()
            else:
                avg = sq.sqrt()
            avg = avg.add_(eps)
            if buf is not None:
                buf.mul_(momentum).add_(g / avg)
                p.add_(buf, alpha=-lr)
            else:
                p.add_(g / avg, alpha=-lr)
